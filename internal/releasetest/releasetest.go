// Package releasetest is the shared fixture of the release tests: two real
// registries (non-production and production) with their own htpasswd
// credentials behind fault-injecting proxies, cosign key pairs generated for
// the test, and small real Go binaries to build images from.
package releasetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/signing"
	"github.com/go-aks/pipeline/internal/testenv/faultproxy"
	"github.com/go-aks/pipeline/internal/testenv/registry"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// Key is a generated cosign key pair written to files.
type Key struct {
	Password                string
	PrivatePEM              []byte
	PublicPEM               []byte
	PrivatePath, PublicPath string
}

// Signer loads the private key.
func (k Key) Signer(t testing.TB) *signing.Signer {
	t.Helper()
	s, err := signing.SignerFromPEM("test key", k.PrivatePEM, []byte(k.Password))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Verifier loads the public key.
func (k Key) Verifier(t testing.TB) *signing.Verifier {
	t.Helper()
	v, err := signing.VerifierFromPEM("test key", k.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Side is one registry with its proxy.
type Side struct {
	Registry *registry.Registry
	Proxy    *faultproxy.Proxy
}

// Host is the proxy's address: what clients use.
func (s Side) Host() string { return s.Proxy.Host }

// Credentials of the registry.
func (s Side) Credentials() regclient.Credentials {
	return regclient.Credentials{Username: s.Registry.Username, Password: s.Registry.Password}
}

// Client returns a fast-retrying client through the proxy.
func (s Side) Client(counter *regclient.Counter) *regclient.Client {
	return regclient.New(regclient.Options{
		Credentials: s.Credentials(), PlainHTTP: true,
		Backoff:        regclient.Backoff{Initial: 20 * time.Millisecond, Factor: 2, Max: 200 * time.Millisecond, Steps: 4},
		RequestTimeout: 2 * time.Second, Counter: counter, CredentialsHint: "test credentials",
	})
}

// Env is the fixture.
type Env struct {
	NonProd, Prod              Side
	NonProdKey, ProdKey, Other Key
}

// Secret returns a random recognisable secret with the prefix.
func Secret(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// Start starts both registries (cleaned up with t) and generates keys.
func Start(t testing.TB) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := &Env{
		NonProd: StartSide(ctx, t, "nonprod-ci", Secret("CANARY-nonprod-registry-password")),
		Prod:    StartSide(ctx, t, "prod-ci", Secret("CANARY-prod-registry-password")),
	}
	dir := t.TempDir()
	e.NonProdKey = NewKey(t, dir, "nonprod", Secret("CANARY-nonprod-key-password"))
	e.ProdKey = NewKey(t, dir, "prod", Secret("CANARY-prod-key-password"))
	e.Other = NewKey(t, dir, "other", Secret("CANARY-other-key-password"))
	return e
}

// StartSide starts one registry with htpasswd credentials behind a fault
// proxy, both cleaned up with t.
func StartSide(ctx context.Context, t testing.TB, user, pass string) Side {
	t.Helper()
	r, err := registry.Start(ctx, registry.Config{Username: user, Password: pass})
	if err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	p, err := faultproxy.Start(ctx, r.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() }) //nolint:contextcheck // Close bounds its own shutdown
	return Side{Registry: r, Proxy: p}
}

// NewKey generates a cosign key pair and writes it to dir.
func NewKey(t testing.TB, dir, name, password string) Key {
	t.Helper()
	priv, pub, err := signing.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	k := Key{Password: password, PrivatePEM: priv, PublicPEM: pub,
		PrivatePath: filepath.Join(dir, name+".key"), PublicPath: filepath.Join(dir, name+".pub")}
	if err := os.WriteFile(k.PrivatePath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PublicPath, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// Platforms the sample binaries are built for.
var Platforms = []string{"linux/amd64", "linux/arm64"}

// SampleBinaries builds internal/releasetest/samplebin for linux/amd64 and
// linux/arm64 (once per test process; the Go build cache makes later runs
// fast) and returns them as imagebuild binaries.
func SampleBinaries(t testing.TB) []imagebuild.Binary {
	t.Helper()
	binOnce.Do(func() {
		root, err := toolbin.RepoRoot()
		if err != nil {
			binErr = err
			return
		}
		binDir, binErr = os.MkdirTemp("", "releasetest-bin-")
		if binErr != nil {
			return
		}
		for _, p := range Platforms {
			plat, _ := v1.ParsePlatform(p)
			out := filepath.Join(binDir, plat.Architecture, "orders")
			cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./internal/releasetest/samplebin") //nolint:gosec,noctx // fixed package, built once per test process
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+plat.OS, "GOARCH="+plat.Architecture)
			if b, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("build sample binary for %s: %w\n%s", p, err, b)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	var bins []imagebuild.Binary
	for _, p := range Platforms {
		plat, _ := v1.ParsePlatform(p)
		bins = append(bins, imagebuild.Binary{Platform: *plat, Path: filepath.Join(binDir, plat.Architecture, "orders"), Name: "orders"})
	}
	return bins
}

// SampleIndex builds the sample image; revision changes its digest.
func SampleIndex(ctx context.Context, t testing.TB, revision string) v1.ImageIndex {
	t.Helper()
	idx, err := imagebuild.Index(ctx, SampleBinaries(t), imagebuild.Options{
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Source: "https://github.com/go-aks/pipeline", Revision: revision,
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// Main runs the tests of a package, then removes the sample binaries and
// runs cleanups; call it from TestMain (it exits the process, so deferred
// calls in TestMain would not run: pass them as cleanups).
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	for _, c := range cleanups {
		c()
	}
	os.Exit(code)
}
