// Command rehearse runs the release path end to end on this machine, with no
// Azure account and no Dagger engine: it starts the test environment (two
// registries with their own credentials, a single-node Kubernetes cluster
// with staging and production namespaces, PostgreSQL), then runs the same
// commands the Dagger functions run — build, publish (signed with the
// non-production key), deploy staging, acceptance suite, acceptance
// attestation, promote (verified, copied by digest, signed with the
// production key), deploy production, verify what runs — prints each stage's
// duration and digest, and tears everything down (also on Ctrl-C).
//
// It releases each service given with -service DIR (repeatable), a
// directory holding the service's pipeline.yaml (optional) and go.mod, read
// with ci/settings as the Dagger module reads it. By default: this
// repository (the orders service) and the greeter fixture
// (internal/rehearsal/testdata/services/greeter). A -fault is injected into
// the first service, after a good release of every service.
//
//	sudo -E go run ./cmd/rehearse [-service DIR]... [-fault none|acceptance|production-crash|production-errors] [-keep] [-v]
//
// It needs root (network namespace, mounts, iptables), Debian's containerd,
// runc, containernetworking-plugins, iptables, conntrack and postgresql.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-aks/pipeline/internal/rehearsal"
	"github.com/go-aks/pipeline/internal/testenv/env"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// FixtureService is the second service released by default, relative to
// the repository root.
const FixtureService = "internal/rehearsal/testdata/services/greeter"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	fault     rehearsal.Fault
	keep      bool
	verbose   bool
	platforms []string
	timeout   time.Duration
	rollout   string
	logDir    string
	services  []string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fault := fs.String("fault", "none", "inject a defect to rehearse a stop: none, acceptance (the suite fails in staging: no promotion), production-crash (production's canary or rollout fails; production stays on the previous digest), production-errors (ready and healthy, 3 in 10 requests 500 in production: the canary stops it)")
	keep := fs.Bool("keep", false, "keep the environment running after the release until Ctrl-C (kubeconfigs and registries are printed)")
	verbose := fs.Bool("v", false, "stream the commands' output")
	platforms := fs.String("platforms", "", "image platforms, comma-separated, overriding the services' settings (must include this machine's)")
	var services []string
	fs.Func("service", "a service's source root (its pipeline.yaml and go.mod); repeatable (default: the repository root and "+FixtureService+")", func(v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("empty directory")
		}
		services = append(services, v)
		return nil
	})
	timeout := fs.Duration("timeout", 45*time.Minute, "give up after this long (the first run builds Kubernetes: about ten minutes on two cores)")
	rollout := fs.String("rollout-timeout", "5m", "deploy's --timeout for each rollout")
	logDir := fs.String("log-dir", "", "keep the cluster components' logs in this directory")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: rehearse [flags]   (as root)\n\nRuns the release path end to end on a local environment and prints its stages.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	f, err := rehearsal.ParseFault(*fault)
	if err != nil {
		return config{}, fmt.Errorf("-fault: %w", err)
	}
	if *timeout <= 0 {
		return config{}, fmt.Errorf("-timeout %s: must be positive", *timeout)
	}
	var plats []string
	for _, p := range strings.Split(*platforms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			plats = append(plats, p)
		}
	}
	return config{fault: f, keep: *keep, verbose: *verbose, platforms: plats, timeout: *timeout, rollout: *rollout, logDir: *logDir, services: services}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "rehearse:", err)
		return 2
	}
	services, err := loadServices(cfg.services)
	if err != nil {
		fmt.Fprintln(stderr, "rehearse: -service:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := env.CheckHost(); err != nil {
		fmt.Fprintln(stderr, "rehearse: this machine cannot run the rehearsal:\n"+err.Error())
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	t0 := time.Now()
	e, err := env.Start(ctx, env.Options{LogDir: cfg.logDir, Logger: log})
	// Teardown runs even after Ctrl-C: it gets its own context.
	defer func() {
		t := time.Now()
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer scancel()
		if err := e.Stop(sctx); err != nil {
			fmt.Fprintln(stderr, "rehearse: tear down:", err)
			return
		}
		fmt.Fprintf(stdout, "environment stopped in %s\n", time.Since(t).Round(100*time.Millisecond))
	}()
	if err != nil {
		fmt.Fprintln(stderr, "rehearse: start the environment:", err)
		return 1
	}
	fmt.Fprintf(stdout, "environment up in %s: non-production registry %s, production registry %s, cluster %s\n",
		time.Since(t0).Round(100*time.Millisecond), e.NonProd.Host, e.Prod.Host, e.Cluster.Server)

	var out io.Writer
	if cfg.verbose {
		out = stderr
	}
	r, err := rehearsal.New(ctx, rehearsal.Options{Env: e, Platforms: cfg.platforms, RolloutTimeout: cfg.rollout, Output: out, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "rehearse:", err)
		return 1
	}
	defer func() { _ = r.Close() }()

	code := 0
	var released []string
	var runErr error
	// A good release of every service first; with a fault, it is the
	// production the faulty build must not disturb, and the revision a
	// failed rollout returns to.
	if cfg.fault != rehearsal.NoFault {
		fmt.Fprintf(stdout, "releasing a good build of every service first, then a faulty one of %s\n", services[0].Name())
	}
	for _, svc := range services {
		var rel rehearsal.Release
		if rel, runErr = r.Run(ctx, svc, rehearsal.BuildOptions{}); runErr != nil {
			break
		}
		released = append(released, rel.Prod)
	}
	faultyRun := -1 // index of the faulty run's first stage
	if runErr == nil && cfg.fault != rehearsal.NoFault {
		faultyRun = len(r.Stages())
		_, runErr = r.Run(ctx, services[0], rehearsal.BuildOptions{Fault: cfg.fault})
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "release rehearsal (revision %s, fault: %s)\n", r.Revision(), faultName(cfg.fault))
	if err := rehearsal.WriteSummary(stdout, r.Stages()); err != nil {
		fmt.Fprintln(stderr, "rehearse:", err)
	}
	switch {
	case runErr == nil:
		fmt.Fprintf(stdout, "\nreleased: %s run in production, signed for production\n", strings.Join(released, ", "))
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "rehearse: interrupted:", ctx.Err())
		code = 1
	case cfg.fault != rehearsal.NoFault && faultyRun >= 0 && failedStage(r.Stages()[faultyRun:]) == rehearsal.StopStage(cfg.fault):
		fmt.Fprintf(stdout, "\nthe release stopped where it must for fault %q: at %q\n", cfg.fault, rehearsal.StopStage(cfg.fault))
	default:
		code = 1
	}
	if cfg.keep && ctx.Err() == nil {
		fmt.Fprintf(stdout, "\nenvironment kept until Ctrl-C:\n  staging kubeconfig:    %s\n  production kubeconfig: %s\n  admin kubeconfig:      %s\n  non-production registry: %s (user %s)\n  production registry:     %s (user %s)\n",
			e.Kubeconfig(env.Staging), e.Kubeconfig(env.Production), e.Cluster.AdminKubeconfig,
			e.NonProd.Host, e.NonProd.Username, e.Prod.Host, e.Prod.Username)
		<-ctx.Done()
	}
	return code
}

// loadServices reads each service's settings; none given: the repository
// root and the fixture.
func loadServices(dirs []string) ([]*rehearsal.Service, error) {
	if len(dirs) == 0 {
		root, err := toolbin.RepoRoot()
		if err != nil {
			return nil, fmt.Errorf("find the repository root for the default services: %w", err)
		}
		dirs = []string{root, filepath.Join(root, filepath.FromSlash(FixtureService))}
	}
	seen := map[string]string{}
	var out []*rehearsal.Service
	for _, d := range dirs {
		svc, err := rehearsal.LoadService(d)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[svc.Name()]; dup {
			return nil, fmt.Errorf("%s and %s are both service %q: each service needs its own name (binary)", prev, d, svc.Name())
		}
		seen[svc.Name()] = d
		out = append(out, svc)
	}
	return out, nil
}

func failedStage(stages []rehearsal.Stage) string {
	for _, s := range stages {
		if !s.OK() {
			return s.Name
		}
	}
	return ""
}

func faultName(f rehearsal.Fault) string {
	if f == rehearsal.NoFault {
		return "none"
	}
	return string(f)
}
