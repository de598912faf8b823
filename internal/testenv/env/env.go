// Package env is the one test environment of the release path: the
// non-production and production registries (each with its own htpasswd
// credentials), the single-node test cluster with its staging and
// production namespaces (each reached with its own kubeconfig), and the test
// PostgreSQL listening on the cluster network's host address, with the
// database settings the manifests expect (ConfigMap and Secret orders-db) in
// both namespaces. The end-to-end test and the release rehearsal
// (cmd/rehearse) start it once and stop it completely.
package env

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/go-aks/pipeline/internal/testenv/cluster"
	"github.com/go-aks/pipeline/internal/testenv/postgres"
	"github.com/go-aks/pipeline/internal/testenv/registry"
)

// Staging and Production are the environments (namespaces) of the cluster.
const (
	Staging    = "staging"
	Production = "production"
)

// DBConfigName is the name of the ConfigMap (DB_HOST, DB_PORT, DB_NAME,
// DB_USER, DB_SSLMODE) and of the Secret (key "password") the manifests read
// the database settings from.
const DBConfigName = "orders-db"

// Options configure Start.
type Options struct {
	// LogDir keeps the cluster components' logs after Stop. Empty: removed.
	LogDir string
	// Logger receives progress messages; default slog.Default().
	Logger *slog.Logger
}

// Env is a running environment.
type Env struct {
	// Cluster is the single-node cluster; Cluster.Kubeconfigs[Staging] and
	// [Production] are deployers limited to their namespace.
	Cluster *cluster.Cluster
	// NonProd and Prod are the two registries, on the cluster network's host
	// address (reachable from the host and from the node), each with its own
	// credentials (Username, Password).
	NonProd, Prod *registry.Registry
	// DB is the PostgreSQL server pods use (on Cluster.HostIP).
	DB *postgres.Server
	// Databases maps each namespace to its database name.
	Databases map[string]string

	log *slog.Logger
	fp  Footprint
}

// Footprint names what an environment put on the machine, so that a test can
// check that Stop removed all of it (see Leftovers).
type Footprint struct {
	// Dirs are directories that existed while the environment ran.
	Dirs []string
	// Addrs are the host:port addresses its servers listened on.
	Addrs []string
}

// CheckHost reports what this machine lacks to run the environment: root,
// the cluster's Debian packages, PostgreSQL, bash and git.
func CheckHost() error {
	var problems []string
	if err := cluster.CheckHost(); err != nil {
		problems = append(problems, err.Error())
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres"); len(m) == 0 {
		problems = append(problems, "env: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: apt-get install postgresql")
	}
	for _, tool := range []string{"go", "git", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			problems = append(problems, "env: "+tool+" not found in PATH")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// Start brings the environment up. On error, everything already started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	if err := CheckHost(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	e := &Env{log: log, Databases: map[string]string{}}
	defer func() {
		if err != nil {
			_ = e.Stop(context.WithoutCancel(ctx))
		}
	}()
	nonProdPass, err := randomSecret()
	if err != nil {
		return nil, err
	}
	prodPass, err := randomSecret()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	e.Cluster, err = cluster.Start(ctx, cluster.Options{
		Namespaces: []string{Staging, Production},
		Registries: []registry.Config{
			{Username: "nonprod-ci", Password: nonProdPass},
			{Username: "prod-ci", Password: prodPass},
		},
		LogDir: opts.LogDir,
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("env: %w", err)
	}
	e.fp.Dirs = append(e.fp.Dirs, e.Cluster.Dir)
	e.fp.Addrs = append(e.fp.Addrs, strings.TrimPrefix(e.Cluster.Server, "https://"), e.Cluster.Registry.Host)
	if len(e.Cluster.Registries) != 2 {
		return nil, fmt.Errorf("env: the cluster started %d extra registries, want 2", len(e.Cluster.Registries))
	}
	e.NonProd, e.Prod = e.Cluster.Registries[0], e.Cluster.Registries[1]
	for _, r := range []*registry.Registry{e.NonProd, e.Prod} {
		e.fp.Dirs = append(e.fp.Dirs, filepath.Dir(r.DataDir))
		e.fp.Addrs = append(e.fp.Addrs, r.Host)
	}
	log.InfoContext(ctx, "cluster and registries up", "took", time.Since(t0).Round(time.Millisecond),
		"nonprod", e.NonProd.Host, "prod", e.Prod.Host)

	e.DB, err = postgres.Start(ctx, postgres.Options{ListenAddresses: []string{e.Cluster.HostIP}})
	if err != nil {
		return nil, fmt.Errorf("env: start PostgreSQL on %s: %w", e.Cluster.HostIP, err)
	}
	e.fp.Addrs = append(e.fp.Addrs, net.JoinHostPort(e.DB.Host, strconv.Itoa(e.DB.Port)))
	for _, ns := range []string{Staging, Production} {
		if err := e.PrepareNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	log.InfoContext(ctx, "test environment ready", "took", time.Since(t0).Round(time.Millisecond))
	return e, nil
}

// PrepareNamespace creates what the platform team provides next to the
// database for namespace ns: a database orders_NS on the test PostgreSQL
// and, through (*cluster.Cluster).SetDatabase, the ConfigMap and the Secret
// orders-db (DBConfigName) the manifests read (the namespace is created when
// missing). Start does it for Staging and Production; tests call it for any
// other namespace they deploy to.
func (e *Env) PrepareNamespace(ctx context.Context, ns string) error {
	db := "orders_" + ns
	if err := e.DB.CreateDatabase(ctx, db); err != nil {
		return fmt.Errorf("env: create database %s: %w", db, err)
	}
	if err := e.Cluster.SetDatabase(ctx, ns, cluster.Database{
		Host: e.DB.Host, Port: e.DB.Port, Name: db, User: e.DB.User, Password: e.DB.Password,
	}); err != nil {
		return fmt.Errorf("env: %w", err)
	}
	e.Databases[ns] = db
	return nil
}

// Kubeconfig is the deployer kubeconfig of a namespace (Staging, Production).
func (e *Env) Kubeconfig(ns string) string { return e.Cluster.Kubeconfigs[ns] }

// Client is a client of a namespace's deployer (what a release engineer holds).
func (e *Env) Client(ns string) (*kubernetes.Clientset, error) {
	path := e.Kubeconfig(ns)
	if path == "" {
		return nil, fmt.Errorf("env: no kubeconfig for namespace %q", ns)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("env: load the %s kubeconfig: %w", ns, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("env: %s client: %w", ns, err)
	}
	return cs, nil
}

// Footprint returns what the environment put on the machine.
func (e *Env) Footprint() Footprint { return e.fp }

// Stop tears everything down: PostgreSQL, then the cluster with its
// registries. Safe to call more than once.
func (e *Env) Stop(ctx context.Context) error {
	if e == nil {
		return nil
	}
	var errs []error
	if e.DB != nil {
		if err := e.DB.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop PostgreSQL: %w", err))
		}
		e.DB = nil
	}
	if e.Cluster != nil {
		if err := e.Cluster.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
		e.Cluster, e.NonProd, e.Prod = nil, nil, nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("env: stop: %w", errors.Join(errs...))
	}
	return nil
}
