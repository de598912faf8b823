//go:build cluster

package deploy_test

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// step runs one subtest of a chain whose steps build on each other's state,
// and stops the chain at the first failure, so that one failure does not
// cascade into misleading ones.
func step(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.Fatalf("step %q failed; the steps after it build on its state and were not run", name)
	}
}

// spcCRD is the SecretProviderClass CRD that TestProduction installs.
const spcCRD = "secretproviderclasses.secrets-store.csi.x-k8s.io"

// resetProduction removes what TestProduction adds to the shared cluster
// (the SecretProviderClass CRD and the production Deployment) and waits
// until both are gone, so that the test finds the cluster as the
// environment made it whatever ran before (-count=2, -shuffle=on).
func resetProduction(ctx context.Context, t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	fg := metav1.DeletePropagationForeground
	del := metav1.DeleteOptions{PropagationPolicy: &fg}
	if err := crds.Delete(ctx, spcCRD, del); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete CRD %s: %v", spcCRD, err)
	}
	deployments := e.admin.AppsV1().Deployments("production")
	if err := deployments.Delete(ctx, "orders", del); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("delete Deployment production/orders: %v", err)
	}
	for {
		_, crdErr := crds.Get(ctx, spcCRD, metav1.GetOptions{})
		_, depErr := deployments.Get(ctx, "orders", metav1.GetOptions{})
		gone := apierrors.IsNotFound(crdErr) && apierrors.IsNotFound(depErr)
		// The API server must also stop serving the group, or a dry run
		// would still find the kind.
		if gone {
			if _, err := e.admin.Discovery().ServerResourcesForGroupVersion("secrets-store.csi.x-k8s.io/v1"); apierrors.IsNotFound(err) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s (get: %v) and Deployment production/orders (get: %v) not gone: %v", spcCRD, crdErr, depErr, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
