// Command deploy renders the service's manifests for an environment with the
// image pinned by digest, and deploys them: server-side dry run, server-side
// apply, rollout watch with early failure detection, rollback.
//
//	deploy render --manifests DIR --environment staging|production --image REF@sha256:...
//	deploy apply  --kubeconfig FILE --manifests DIR --environment staging|production --image REF@sha256:...
//	              [--namespace NS] [--timeout 5m] [--rollback=true] [--summary-file FILE]
//
// Exit codes: 0 done (deployed, unchanged, validated); 1 failed (the
// summary's outcome says failed or rolled-back); 2 bad usage; 128+N (130 on
// SIGINT, 143 on SIGTERM) interrupted by signal N before deploy could tell
// how the rollout ends: the summary's outcome is "interrupted" and its
// "interrupted" object says where it stopped, what serves and what is left.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/render"
)

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage:
  deploy render --manifests DIR --environment staging|production --image REGISTRY/REPO@sha256:DIGEST [--namespace NS] [--component PATH]... [--out FILE]
  deploy apply  --kubeconfig FILE --manifests DIR --environment staging|production --image REGISTRY/REPO@sha256:DIGEST
                [--namespace NS] [--component PATH]... [--timeout 5m] [--rollback=true] [--unschedulable-grace 0s] [--dry-run] [--summary-file FILE]
                [--interrupt-grace 20s]
exit codes: 0 done, 1 failed, 2 usage, 128+signal (130 SIGINT, 143 SIGTERM) interrupted
`

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "render":
		err = renderCmd(ctx, args[1:], stdout)
	case "apply":
		err = applyCmd(ctx, args[1:], stdout, log)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q", args[0])
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "deploy:", err)
		if errors.Is(err, deploy.ErrInterrupted) {
			return interruptedCode(ctx)
		}
		var usageErr *usageError
		if errors.As(err, &usageErr) {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ error }

func common(fs *flag.FlagSet) (manifests, env, image, namespace *string, components *multi) {
	manifests = fs.String("manifests", "manifests", "directory holding base/ and overlays/")
	env = fs.String("environment", "", "overlay to deploy: staging or production")
	image = fs.String("image", "", "service image pinned by digest: REGISTRY/REPO@sha256:DIGEST")
	namespace = fs.String("namespace", "", "namespace override (default: the overlay's)")
	components = &multi{}
	fs.Var(components, "component", "extra kustomize component, path inside --manifests (repeatable)")
	return
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if afterParse != nil {
		return afterParse(fs)
	}
	return nil
}

func renderCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	manifests, env, image, namespace, components := common(fs)
	out := fs.String("out", "", "write the YAML to FILE instead of stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	res, err := render.Render(ctx, render.Options{Dir: *manifests, Environment: *env, Image: *image, Namespace: *namespace, Components: *components})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(filepath.Clean(*out), res.YAML, 0o600); err != nil {
			return fmt.Errorf("--out %s: %w", *out, err)
		}
		return nil
	}
	_, err = stdout.Write(res.YAML)
	return err
}

func applyCmd(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	manifests, env, image, namespace, components := common(fs)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file of the target cluster (a path; the file's content is never printed)")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long the rollout may take")
	rollback := fs.Bool("rollback", true, "roll back to the previous revision when the rollout fails")
	grace := fs.Duration("unschedulable-grace", 0, "how long pods may stay unschedulable before the rollout fails (raise it with a cluster autoscaler)")
	dryRun := fs.Bool("dry-run", false, "only validate the rendered objects with a server-side dry run; change nothing")
	summaryFile := fs.String("summary-file", "", "also write the summary as JSON to FILE")
	interruptGrace := fs.Duration("interrupt-grace", deploy.DefaultInterruptGrace, "after SIGTERM/SIGINT, how long a rollback that is due may still run")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return &usageError{fmt.Errorf("--timeout must be positive, got %s", *timeout)}
	}
	sum, err := deploy.Run(ctx, deploy.Options{
		Kubeconfig: *kubeconfig, Manifests: *manifests, Environment: *env, Image: *image,
		Namespace: *namespace, Components: *components, Timeout: *timeout, Rollback: *rollback,
		UnschedulableGrace: *grace, DryRunOnly: *dryRun, Logger: log, InterruptGrace: *interruptGrace,
	})
	if sum != nil {
		fmt.Fprint(stdout, sum.String())
		if *summaryFile != "" {
			data, jerr := json.MarshalIndent(sum, "", "  ")
			if jerr == nil {
				jerr = os.WriteFile(filepath.Clean(*summaryFile), append(data, '\n'), 0o600)
			}
			if jerr != nil {
				return errors.Join(err, fmt.Errorf("--summary-file %s: %w", *summaryFile, jerr))
			}
		}
	}
	return err
}
