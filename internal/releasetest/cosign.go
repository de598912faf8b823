package releasetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// CosignPackage is the cosign CLI, built from hack/cosign (pinned to the
// root module's cosign version, see TestCosignPinnedOnce).
const CosignPackage = "github.com/sigstore/cosign/v2/cmd/cosign"

// Cosign builds the real cosign CLI once (cached) and returns its path.
func Cosign(ctx context.Context, t testing.TB) string {
	t.Helper()
	dir, err := toolbin.Build(ctx, toolbin.Spec{Module: "hack/cosign", Packages: []string{CosignPackage}})
	if err != nil {
		t.Fatalf("build the cosign CLI (hack/cosign): %v", err)
	}
	return filepath.Join(dir, "cosign")
}

// CosignRun runs the cosign CLI with the credentials of both registries
// (a Docker config in a temporary directory) and returns its combined
// output and error.
func (e *Env) CosignRun(ctx context.Context, t testing.TB, args ...string) (string, error) {
	t.Helper()
	return e.CosignRunEnv(ctx, t, nil, args...)
}

// CosignRunEnv is CosignRun with extra environment variables (for
// example COSIGN_PASSWORD and COSIGN_EXPERIMENTAL=1).
func (e *Env) CosignRunEnv(ctx context.Context, t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	bin := Cosign(ctx, t)
	dir := t.TempDir()
	auths := map[string]any{}
	for _, s := range []Side{e.NonProd, e.Prod} {
		auths[s.Host()] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(s.Registry.Username + ":" + s.Registry.Password))}
	}
	data, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, args...) //nolint:gosec // the test's own cosign build
	cmd.Env = append([]string{"DOCKER_CONFIG=" + dir, "HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TUF_ROOT=" + filepath.Join(dir, "tuf")}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// AcceptanceType is the acceptance record's predicate type for cosign
// verify-attestation --type.
const AcceptanceType = "https://github.com/go-aks/pipeline/attestations/acceptance/v1"

// CosignRegistryFlags let the cosign CLI talk to the plain-HTTP test
// registries.
var CosignRegistryFlags = []string{"--allow-http-registry=true", "--allow-insecure-registry=true"}

// CosignVerify runs `cosign verify --key key` on ref (no transparency log;
// extra flags after the key) and returns its output and error.
func (e *Env) CosignVerify(ctx context.Context, t testing.TB, ref, key string, extra ...string) (string, error) {
	t.Helper()
	args := append(append(append([]string{"verify", "--key", key, "--insecure-ignore-tlog=true"}, CosignRegistryFlags...), extra...), ref)
	return e.CosignRun(ctx, t, args...)
}

// CosignVerifyAll verifies ref with the real cosign CLI: the signature by
// each key, and the attestations of the given types (default: SBOM
// spdxjson, provenance slsaprovenance1 and the acceptance record) by attKey.
func (e *Env) CosignVerifyAll(ctx context.Context, t testing.TB, ref string, sigKeys []string, attKey string, attTypes ...string) {
	t.Helper()
	if len(attTypes) == 0 {
		attTypes = []string{"spdxjson", "slsaprovenance1", AcceptanceType}
	}
	common := append([]string{"--insecure-ignore-tlog=true"}, CosignRegistryFlags...)
	for _, k := range sigKeys {
		if out, err := e.CosignVerify(ctx, t, ref, k); err != nil {
			t.Errorf("cosign verify --key %s %s: %v\n%s", k, ref, err, out)
		}
	}
	for _, typ := range attTypes {
		out, err := e.CosignRun(ctx, t, append(append([]string{"verify-attestation", "--key", attKey, "--type", typ}, common...), ref)...)
		if err != nil {
			t.Errorf("cosign verify-attestation --type %s %s: %v\n%s", typ, ref, err, out)
		} else if !strings.Contains(out, "Verification for") {
			t.Errorf("cosign verify-attestation --type %s: unexpected output %s", typ, out)
		}
	}
}
