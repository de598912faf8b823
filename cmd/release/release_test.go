//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-aks/pipeline/internal/promote"
	"github.com/go-aks/pipeline/internal/publish"
	"github.com/go-aks/pipeline/internal/releasetest"
)

var releaseBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "release-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	releaseBin = filepath.Join(dir, "release")
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", releaseBin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build release command: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	releasetest.Main(m, func() { _ = os.RemoveAll(dir) })
}

// harness runs the release binary and keeps everything it printed.
type harness struct {
	t       *testing.T
	env     *releasetest.Env
	home    string
	mu      sync.Mutex
	outputs []string // stdout, stderr and files of every run
	secrets []string
}

func newHarness(t *testing.T) *harness {
	env := releasetest.Start(t)
	h := &harness{t: t, env: env, home: t.TempDir()}
	h.secrets = []string{
		env.NonProd.Registry.Password, env.Prod.Registry.Password,
		env.NonProdKey.Password, env.ProdKey.Password, env.Other.Password,
		string(env.NonProdKey.PrivatePEM), string(env.ProdKey.PrivatePEM),
		pemBody(env.NonProdKey.PrivatePEM), pemBody(env.ProdKey.PrivatePEM),
		env.NonProd.Registry.Username + ":" + env.NonProd.Registry.Password,
		env.Prod.Registry.Username + ":" + env.Prod.Registry.Password,
	}
	return h
}

// pemBody is the first base64 line of a PEM block: recognisable key material.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "-----") {
			return l
		}
	}
	return ""
}

type result struct {
	stdout, stderr string
	err            error
}

// baseEnv are the secrets every run gets, as a pipeline step would pass them.
func (h *harness) baseEnv() map[string]string {
	return map[string]string{
		"HOME":                     h.home,
		"PATH":                     os.Getenv("PATH"),
		"REGISTRY_USERNAME":        h.env.NonProd.Registry.Username,
		"REGISTRY_PASSWORD":        h.env.NonProd.Registry.Password,
		"TARGET_REGISTRY_USERNAME": h.env.Prod.Registry.Username,
		"TARGET_REGISTRY_PASSWORD": h.env.Prod.Registry.Password,
		"COSIGN_PASSWORD":          h.env.NonProdKey.Password,
	}
}

func (h *harness) run(ctx context.Context, env map[string]string, args ...string) result {
	h.t.Helper()
	cmd := exec.CommandContext(ctx, releaseBin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	h.mu.Lock()
	h.outputs = append(h.outputs, stdout.String(), stderr.String())
	h.mu.Unlock()
	h.t.Logf("release %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout.String(), stderr.String())
	return result{stdout: strings.TrimSpace(stdout.String()), stderr: stderr.String(), err: err}
}

func (h *harness) keepFile(path string) {
	data, err := os.ReadFile(path)
	if err == nil {
		h.mu.Lock()
		h.outputs = append(h.outputs, string(data))
		h.mu.Unlock()
	}
}

// assertNoSecrets searches every output for the planted secrets and their
// base64 forms.
func (h *harness) assertNoSecrets() {
	h.t.Helper()
	var forms []string
	for _, s := range h.secrets {
		if s == "" {
			continue
		}
		b := []byte(s)
		forms = append(forms, s,
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	for i, out := range h.outputs {
		for _, f := range forms {
			if strings.Contains(out, f) {
				h.t.Errorf("output %d contains a secret (or its base64 form) %.12s...", i, f)
			}
		}
	}
	if len(h.outputs) == 0 {
		h.t.Error("no outputs collected: the canary check proves nothing")
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

const failingJUnit = `<testsuites><testsuite name="acceptance" tests="3" failures="1" errors="0"></testsuite></testsuites>`
const passingJUnit = `<testsuites><testsuite name="acceptance" tests="3" failures="0" errors="0"></testsuite></testsuites>`

// TestReleaseCommandEndToEnd drives the command as the pipeline does, with
// canary secrets, refusals first, and searches every output for secrets.
func TestReleaseCommandEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	h := newHarness(t)
	defer h.assertNoSecrets()
	dir := t.TempDir()
	env := h.baseEnv()
	plain := "--plain-http"
	fast := []string{plain, "--retries", "3", "--retry-initial", "20ms", "--request-timeout", "2s"}

	// Assemble the image twice: the same binaries give the same digest.
	bins := releasetest.SampleBinaries(t)
	imageArgs := func(out string) []string {
		return []string{"image",
			"--binary", "linux/amd64=" + bins[0].Path, "--binary", "linux/arm64=" + bins[1].Path,
			"--source", "https://github.com/go-aks/pipeline", "--revision", "0123abc",
			"--created", "2026-01-02T03:04:05Z", "--out", out}
	}
	img1 := h.run(ctx, env, imageArgs(filepath.Join(dir, "layout1"))...)
	img2 := h.run(ctx, env, imageArgs(filepath.Join(dir, "layout2"))...)
	if img1.err != nil || img2.err != nil || img1.stdout != img2.stdout || !strings.HasPrefix(img1.stdout, "sha256:") {
		t.Fatalf("image: %v %v, digests %q %q", img1.err, img2.err, img1.stdout, img2.stdout)
	}
	if r := h.run(ctx, env, imageArgs(filepath.Join(dir, "layout1"))...); r.err == nil || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("image into a non-empty --out: %v %s", r.err, r.stderr)
	}

	// Publish with the key in an environment variable (env://).
	src := h.env.NonProd.Host() + "/team/orders"
	pubEnv := with(env, "COSIGN_PRIVATE_KEY", string(h.env.NonProdKey.PrivatePEM))
	resultFile := filepath.Join(dir, "publish.json")
	pub := h.run(ctx, pubEnv, append([]string{"publish", "--layout", filepath.Join(dir, "layout1"), "--repository", src,
		"--tag", "0123abc", "--key", "env://COSIGN_PRIVATE_KEY", "--result-file", resultFile, "--ref-file", filepath.Join(dir, "ref")}, fast...)...)
	if pub.err != nil {
		t.Fatalf("publish: %v", pub.err)
	}
	h.keepFile(resultFile)
	ref := pub.stdout
	if ref != src+"@"+img1.stdout {
		t.Fatalf("publish printed %q, want %s@%s", ref, src, img1.stdout)
	}
	var pr publish.Result
	if data, err := os.ReadFile(resultFile); err != nil || json.Unmarshal(data, &pr) != nil || pr.Ref != ref || !pr.Signed {
		t.Fatalf("publish result file: %+v %v", pr, err)
	}
	// Same source again: same digest.
	if again := h.run(ctx, pubEnv, append([]string{"publish", "--layout", filepath.Join(dir, "layout2"), "--repository", src,
		"--tag", "0123abc", "--key", "env://COSIGN_PRIVATE_KEY"}, fast...)...); again.err != nil || again.stdout != ref {
		t.Fatalf("second publish: %v %q", again.err, again.stdout)
	}

	junitFail := filepath.Join(dir, "fail.xml")
	junitPass := filepath.Join(dir, "pass.xml")
	if err := os.WriteFile(junitFail, []byte(failingJUnit), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junitPass, []byte(passingJUnit), 0o600); err != nil {
		t.Fatal(err)
	}
	tagRef := src + ":0123abc"
	prodRepo := h.env.Prod.Host() + "/prod/orders"
	prodEnv := with(env, "COSIGN_PASSWORD", h.env.ProdKey.Password)
	promoteArgs := func(from string, extra ...string) []string {
		a := []string{"promote", "--from", from, "--to", prodRepo, "--source-public-key", h.env.NonProdKey.PublicPath,
			"--key", h.env.ProdKey.PrivatePath}
		return append(append(a, fast...), extra...)
	}

	refusals := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"attest with a failing suite", env, append([]string{"attest-acceptance", "--image", ref, "--environment", "staging",
			"--key", h.env.NonProdKey.PrivatePath, "--junit", junitFail}, fast...), "no acceptance record written"},
		{"attest with a wrong key password", with(env, "COSIGN_PASSWORD", "wrong"), append([]string{"attest-acceptance", "--image", ref,
			"--environment", "staging", "--key", h.env.NonProdKey.PrivatePath, "--junit", junitPass}, fast...), "COSIGN_PASSWORD"},
		{"promote a tag", prodEnv, promoteArgs(tagRef), "not pinned to a digest"},
		{"promote without acceptance", prodEnv, promoteArgs(ref), "no passing acceptance record"},
		{"promote with a secret as flag-less env missing", with(prodEnv, "TARGET_REGISTRY_PASSWORD", ""), promoteArgs(ref), "TARGET_REGISTRY_PASSWORD is empty"},
		{"publish without key", env, append([]string{"publish", "--layout", filepath.Join(dir, "layout1"), "--repository", src}, fast...), "no signing key"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(ctx, tt.env, tt.args...)
			if r.err == nil || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("err %v, stderr %q; want a failure mentioning %q", r.err, r.stderr, tt.wantErr)
			}
		})
	}
	if st := h.env.Prod.Proxy.Stats(); st.Writes != 0 {
		t.Fatalf("refusals wrote %d requests to production", st.Writes)
	}

	// Bad production credentials: a clear error, no retries.
	h.env.Prod.Proxy.Reset()
	bad := h.run(ctx, with(prodEnv, "TARGET_REGISTRY_PASSWORD", "CANARY-wrong-password"), promoteArgs(ref, "--allow-unaccepted")...)
	if bad.err == nil || !strings.Contains(bad.stderr, "401") || !strings.Contains(bad.stderr, "TARGET_REGISTRY_USERNAME/TARGET_REGISTRY_PASSWORD") {
		t.Fatalf("bad credentials: %v %q", bad.err, bad.stderr)
	}
	// Each request is tried once with the credentials (the reads run in
	// parallel): no request answered 401 twice.
	seen401 := map[string]bool{}
	for _, l := range h.env.Prod.Proxy.Log() {
		if strings.HasSuffix(l, " 401") && !strings.HasPrefix(l, "GET /v2/ ") {
			if seen401[l] {
				t.Fatalf("%s answered 401 twice: credentials retried (%v)", l, h.env.Prod.Proxy.Log())
			}
			seen401[l] = true
		}
	}

	// Accept, promote, verify.
	recFile := filepath.Join(dir, "acceptance.json")
	if r := h.run(ctx, env, append([]string{"attest-acceptance", "--image", ref, "--environment", "staging",
		"--key", h.env.NonProdKey.PrivatePath, "--junit", junitPass, "--record-file", recFile}, fast...)...); r.err != nil {
		t.Fatalf("attest-acceptance: %v", r.err)
	}
	h.keepFile(recFile)
	promoFile := filepath.Join(dir, "promotion.json")
	pr1 := h.run(ctx, prodEnv, promoteArgs(ref, "--record-file", promoFile)...)
	if pr1.err != nil {
		t.Fatalf("promote: %v", pr1.err)
	}
	h.keepFile(promoFile)
	prodRef := prodRepo + "@" + img1.stdout
	if pr1.stdout != prodRef {
		t.Fatalf("promote printed %q, want %q", pr1.stdout, prodRef)
	}
	var rec promote.Record
	if data, err := os.ReadFile(promoFile); err != nil || json.Unmarshal(data, &rec) != nil {
		t.Fatalf("record file: %v", err)
	}
	if rec.Source != ref || rec.Destination != prodRef || rec.Acceptance == nil || rec.Acceptance.Suite == nil || rec.Acceptance.Suite.Tests != 3 {
		t.Fatalf("record %+v", rec)
	}
	pr2 := h.run(ctx, prodEnv, promoteArgs(ref, "--record-file", promoFile)...)
	h.keepFile(promoFile)
	if pr2.err != nil || pr2.stdout != prodRef || !strings.Contains(pr2.stderr, "alreadyPromoted=true") {
		t.Fatalf("second promote: %v %q %q", pr2.err, pr2.stdout, pr2.stderr)
	}

	// The real cosign CLI verifies what publish and promote wrote, on both
	// registries: signatures, SBOM, provenance and acceptance record.
	h.env.CosignVerifyAll(ctx, t, ref, []string{h.env.NonProdKey.PublicPath}, h.env.NonProdKey.PublicPath)
	h.env.CosignVerifyAll(ctx, t, prodRef, []string{h.env.NonProdKey.PublicPath, h.env.ProdKey.PublicPath}, h.env.NonProdKey.PublicPath)

	verifyEnv := with(env, "REGISTRY_USERNAME", h.env.Prod.Registry.Username, "REGISTRY_PASSWORD", h.env.Prod.Registry.Password)
	if r := h.run(ctx, verifyEnv, append([]string{"verify", "--image", prodRef, "--public-key", h.env.ProdKey.PublicPath,
		"--require-acceptance", "--acceptance-public-key", h.env.NonProdKey.PublicPath}, fast...)...); r.err != nil {
		t.Fatalf("verify production: %v", r.err)
	}
	if r := h.run(ctx, verifyEnv, append([]string{"verify", "--image", prodRef, "--public-key", h.env.Other.PublicPath}, fast...)...); r.err == nil ||
		!strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("verify with an unrelated key: %v %q", r.err, r.stderr)
	}

	// generate-key-pair writes a usable pair and no secret to its outputs.
	kd := filepath.Join(dir, "keys")
	if r := h.run(ctx, env, "generate-key-pair", "--out-dir", kd); r.err != nil {
		t.Fatalf("generate-key-pair: %v", r.err)
	}
	if r := h.run(ctx, env, "generate-key-pair", "--out-dir", kd); r.err == nil {
		t.Fatal("generate-key-pair overwrote a key")
	}
	h.keepFile(filepath.Join(kd, "cosign.pub"))
}
