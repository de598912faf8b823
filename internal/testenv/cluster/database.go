package cluster

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Database is what the orders service needs to reach its database.
type Database struct {
	Host     string
	Port     int
	Name     string
	User     string
	Password string
	// SSLMode defaults to "disable" (the test PostgreSQL has no TLS).
	SSLMode string
}

// SetDatabase creates (or replaces) what the manifests expect the platform
// to provide in namespace ns: the ConfigMap orders-db (DB_HOST, DB_PORT,
// DB_NAME, DB_USER, DB_SSLMODE) and the Secret orders-db (key "password").
// The namespace is created when missing.
func (c *Cluster) SetDatabase(ctx context.Context, ns string, db Database) error {
	cs, err := c.Clientset()
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cluster: create namespace %s: %w", ns, err)
	}
	if db.SSLMode == "" {
		db.SSLMode = "disable"
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders-db", Namespace: ns}, Data: map[string]string{
		"DB_HOST": db.Host, "DB_PORT": strconv.Itoa(db.Port), "DB_NAME": db.Name, "DB_USER": db.User, "DB_SSLMODE": db.SSLMode,
	}}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("cluster: update ConfigMap %s/orders-db: %w", ns, err)
		}
	} else if err != nil {
		return fmt.Errorf("cluster: create ConfigMap %s/orders-db: %w", ns, err)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "orders-db", Namespace: ns}, Data: map[string][]byte{"password": []byte(db.Password)}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("cluster: update Secret %s/orders-db: %w", ns, err)
		}
	} else if err != nil {
		return fmt.Errorf("cluster: create Secret %s/orders-db: %w", ns, err)
	}
	return nil
}
