// Package rehearsal is the release path as code: it drives the same
// commands the Dagger functions run in their containers (go build of the
// service, `release image|publish|attest-acceptance|promote|verify`,
// `deploy apply`, and hack/stage.sh acceptance), with the same flags, and
// secrets passed the same way (environment variables and key files), in the
// order the CD pipeline runs them, against the environment of
// internal/testenv/env. Only the digest-pinned reference each stage returns
// travels to the next. Every stage is recorded (name, duration, digest) for
// the summary a release engineer reads.
//
// The end-to-end test (build tag e2e) and cmd/rehearse both use it.
package rehearsal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"dagger/pipeline/cmdline"

	"github.com/go-aks/pipeline/internal/testenv/env"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// Options configure New.
type Options struct {
	// Env is the running environment.
	Env *env.Env
	// Root is the repository root. Empty: found from the working directory.
	Root string
	// Platforms of the image, overriding the services' settings (platforms,
	// linux/amd64 and linux/arm64 by default). The node's platform
	// must be among them.
	Platforms []string
	// SourceURL, Revision and Created stamp the image's OCI labels (revision
	// is also its tag). Empty: https://github.com/go-aks/pipeline, the git
	// commit of Root (or "dev") and its commit time (or the epoch).
	SourceURL, Revision, Created string
	// RolloutTimeout is deploy's --timeout. Empty: 5m, the module's default.
	RolloutTimeout string
	// ProductionCanary are the canary thresholds of the production deploy
	// (its window, interval, minimum requests). Zero: deploy's defaults.
	ProductionCanary cmdline.Canary
	// Output receives the commands' output as they run. Nil: kept in the
	// stage logs only (Dir()/logs), and quoted in errors.
	Output io.Writer
	// Logger receives progress messages; default slog.Default().
	Logger *slog.Logger
}

// Rehearsal runs the release path's stages.
type Rehearsal struct {
	opts      Options
	root      string
	dir       string
	release   string // the built cmd/release
	deploy    string // the built cmd/deploy
	check     string // the built cmd/check
	nonProd   key
	prod      key
	log       *slog.Logger
	mu        sync.Mutex
	stages    []Stage
	logSerial int
}

// key is a cosign key pair: files, and the password that encrypts the
// private key (given to commands only as COSIGN_PASSWORD).
type key struct {
	Private, Public, password string
}

// New builds cmd/release and cmd/deploy the way the Dagger module does and
// generates the non-production and production signing keys.
func New(ctx context.Context, opts Options) (_ *Rehearsal, err error) {
	if opts.Env == nil || opts.Env.Cluster == nil {
		return nil, errors.New("rehearsal: Options.Env is not a running environment (env.Start)")
	}
	if err := checkNodePlatform(opts.Platforms); len(opts.Platforms) > 0 && err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	if opts.RolloutTimeout == "" {
		opts.RolloutTimeout = "5m"
	}
	if d, err := time.ParseDuration(opts.RolloutTimeout); err != nil || d <= 0 {
		return nil, fmt.Errorf("rehearsal: rollout timeout %q is not a positive duration such as 5m", opts.RolloutTimeout)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	root := opts.Root
	if root == "" {
		if root, err = toolbin.RepoRoot(); err != nil {
			return nil, fmt.Errorf("rehearsal: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "goaks-rehearsal-")
	if err != nil {
		return nil, fmt.Errorf("rehearsal: create working directory: %w", err)
	}
	r := &Rehearsal{opts: opts, root: root, dir: dir, log: log}
	defer func() {
		if err != nil {
			_ = r.Close()
		}
	}()
	if err := r.fillBuildInfo(ctx); err != nil {
		return nil, err
	}
	if err := r.buildTools(ctx); err != nil {
		return nil, err
	}
	if r.nonProd, err = r.generateKey(ctx, "nonprod"); err != nil {
		return nil, err
	}
	if r.prod, err = r.generateKey(ctx, "prod"); err != nil {
		return nil, err
	}
	return r, nil
}

// checkNodePlatform checks that the node's platform is among platforms.
func checkNodePlatform(platforms []string) error {
	node := "linux/" + runtime.GOARCH
	for _, p := range platforms {
		if p == node {
			return nil
		}
	}
	return fmt.Errorf("platforms %v lack the node's platform %s", platforms, node)
}

// Dir is the rehearsal's working directory (layouts, keys, reports, logs).
func (r *Rehearsal) Dir() string { return r.dir }

// NonProdPublicKey and ProdPublicKey are the public keys' files.
func (r *Rehearsal) NonProdPublicKey() string { return r.nonProd.Public }

// ProdPublicKey is the production public key's file.
func (r *Rehearsal) ProdPublicKey() string { return r.prod.Public }

// Revision is the image's revision label and tag.
func (r *Rehearsal) Revision() string { return r.opts.Revision }

// Close removes the working directory.
func (r *Rehearsal) Close() error {
	if r.dir == "" {
		return nil
	}
	err := os.RemoveAll(r.dir)
	r.dir = ""
	if err != nil {
		return fmt.Errorf("rehearsal: remove working directory: %w", err)
	}
	return nil
}

func (r *Rehearsal) fillBuildInfo(ctx context.Context) error {
	if r.opts.SourceURL == "" {
		r.opts.SourceURL = "https://github.com/go-aks/pipeline"
	}
	if r.opts.Revision == "" {
		r.opts.Revision = "dev"
		if out, err := exec.CommandContext(ctx, "git", "-C", r.root, "rev-parse", "HEAD").Output(); err == nil { //nolint:gosec // fixed tool
			r.opts.Revision = strings.TrimSpace(string(out))
		}
	}
	if r.opts.Created == "" {
		r.opts.Created = "1970-01-01T00:00:00Z"
		if out, err := exec.CommandContext(ctx, "git", "-C", r.root, "log", "-1", "--format=%cI").Output(); err == nil { //nolint:gosec // fixed tool
			if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(out))); err == nil {
				r.opts.Created = t.UTC().Format(time.RFC3339)
			}
		}
	}
	return nil
}

// buildTools builds the pipeline's commands (cmd/release, cmd/deploy,
// cmd/check) as the module does (ci/cmdline BuildTools).
func (r *Rehearsal) buildTools(ctx context.Context) error {
	bin := filepath.Join(r.dir, "bin")
	if err := os.MkdirAll(bin, 0o750); err != nil {
		return fmt.Errorf("rehearsal: %w", err)
	}
	t0 := time.Now()
	r.log.InfoContext(ctx, "building the pipeline's commands", "packages", cmdline.PipelineCommands)
	envMap, args := cmdline.BuildTools(bin+string(filepath.Separator), cmdline.PipelineCommands...)
	if _, err := r.exec(ctx, "tools", goEnv(envMap), args[0], args[1:]...); err != nil {
		return fmt.Errorf("rehearsal: build %s: %w", strings.Join(cmdline.PipelineCommands, " "), err)
	}
	r.release, r.deploy, r.check = filepath.Join(bin, "release"), filepath.Join(bin, "deploy"), filepath.Join(bin, "check")
	r.log.InfoContext(ctx, "built the pipeline's commands", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

func (r *Rehearsal) generateKey(ctx context.Context, name string) (key, error) {
	pass, err := randomHex(16)
	if err != nil {
		return key{}, err
	}
	dir := filepath.Join(r.dir, "keys", name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return key{}, fmt.Errorf("rehearsal: %w", err)
	}
	if _, err := r.exec(ctx, "keys", []string{"COSIGN_PASSWORD=" + pass},
		r.releaseBin(), "generate-key-pair", "--out-dir", dir); err != nil {
		return key{}, fmt.Errorf("rehearsal: generate the %s signing key: %w", name, err)
	}
	return key{Private: filepath.Join(dir, "cosign.key"), Public: filepath.Join(dir, "cosign.pub"), password: pass}, nil
}

func (r *Rehearsal) releaseBin() string {
	if r.release == "" {
		return filepath.Join(r.dir, "bin", "release")
	}
	return r.release
}

// goEnv is the environment of go commands: ours, minus any secret the
// release commands take, plus extra.
func goEnv(extra map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := extra[k]; set || secretVar(k) {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

func secretVar(k string) bool {
	switch k {
	case "REGISTRY_USERNAME", "REGISTRY_PASSWORD", "TARGET_REGISTRY_USERNAME", "TARGET_REGISTRY_PASSWORD",
		"COSIGN_PASSWORD", "AZURE_CLIENT_SECRET":
		return true
	}
	return false
}

// commandEnv is the environment of the release and deploy commands: like
// their containers, only PATH, HOME and TMPDIR besides what they are given.
func commandEnv(vars ...string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if t := os.Getenv("TMPDIR"); t != "" {
		out = append(out, "TMPDIR="+t)
	}
	return append(out, vars...)
}

// exec runs a command in the repository root with exactly env (go commands
// pass goEnv), its output going to a log file of the stage and to
// Options.Output. It returns the command's stdout. A failure quotes the end
// of the output.
func (r *Rehearsal) exec(ctx context.Context, stage string, env []string, name string, args ...string) (string, error) {
	return r.execIn(ctx, r.root, stage, env, name, args...)
}

// execIn is exec in directory dir (a service's Go module for go commands).
func (r *Rehearsal) execIn(ctx context.Context, dir, stage string, env []string, name string, args ...string) (string, error) {
	r.mu.Lock()
	r.logSerial++
	n := r.logSerial
	r.mu.Unlock()
	logDir := filepath.Join(r.dir, "logs")
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		return "", fmt.Errorf("create log directory: %w", err)
	}
	logPath := filepath.Join(logDir, fmt.Sprintf("%02d-%s.log", n, strings.ReplaceAll(stage, " ", "-")))
	f, err := os.Create(filepath.Clean(logPath))
	if err != nil {
		return "", fmt.Errorf("create log: %w", err)
	}
	defer func() { _ = f.Close() }()
	fmt.Fprintf(f, "==> %s %s\n", filepath.Base(name), strings.Join(args, " "))
	var tail tailBuffer
	var stdout bytes.Buffer
	sinks := []io.Writer{f, &tail}
	if r.opts.Output != nil {
		sinks = append(sinks, r.opts.Output)
		fmt.Fprintf(r.opts.Output, "==> %s %s\n", filepath.Base(name), strings.Join(args, " "))
	}
	combined := io.MultiWriter(sinks...)
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // our own built commands and go, with arguments we build
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = io.MultiWriter(&stdout, combined)
	cmd.Stderr = combined
	// Interrupted (Ctrl-C, timeout): let the command stop cleanly first.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), &CommandError{
			Command: filepath.Base(name) + " " + firstArg(args), Err: err, Tail: tail.String(), Log: logPath,
		}
	}
	return stdout.String(), nil
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// CommandError is a command of a stage that failed.
type CommandError struct {
	Command string // e.g. "release promote"
	Err     error
	Tail    string // the end of its output
	Log     string // its full log
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("%s: %v; last output:\n%s(full log: %s)", e.Command, e.Err, indent(e.Tail), e.Log)
}

func (e *CommandError) Unwrap() error { return e.Err }

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// tailBuffer keeps the last lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
	part  string
}

const tailLines = 25

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(p)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if len(t.lines) > tailLines {
		t.lines = t.lines[len(t.lines)-tailLines:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if t.part != "" {
		s += "\n" + t.part
	}
	return s + "\n"
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("rehearsal: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
