//go:build integration

package registry

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantField string // the ConfigError's field; empty: not a ConfigError
		wantIs    []error
	}{
		{"username without password", Config{Username: "u"}, "Password", nil},
		{"password without username", Config{Password: "p"}, "Username", nil},
		{"colon in username", Config{Username: "a:b", Password: "p"}, "Username", nil},
		{"listen address without port", Config{ListenAddr: "127.0.0.1"}, "ListenAddr", nil},
		{"binary missing", Config{BinDir: t.TempDir()}, "", []error{ErrBinaryMissing, fs.ErrNotExist}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Start(t.Context(), tt.cfg)
			if err == nil {
				_ = r.Close()
				t.Fatal("Start succeeded; want an error")
			}
			var ce *ConfigError
			switch {
			case tt.wantField != "" && !errors.As(err, &ce):
				t.Fatalf("Start() error = %v, want a *ConfigError for Config.%s", err, tt.wantField)
			case tt.wantField != "" && ce.Field != tt.wantField:
				t.Fatalf("Start() error names Config.%s, want Config.%s (%v)", ce.Field, tt.wantField, err)
			case tt.wantField == "" && errors.As(err, &ce):
				t.Fatalf("Start() error = %v, a ConfigError; want %v", err, tt.wantIs)
			}
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Fatalf("Start() error = %v, want errors.Is %v", err, want)
				}
			}
		})
	}
}

func TestRegistryWithAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	r, err := Start(ctx, Config{Username: "ci", Password: "s3cret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })

	// Anonymous requests are challenged; the configured user is accepted.
	for _, tc := range []struct {
		name       string
		user, pass string
		want       int
	}{
		{"anonymous", "", "", http.StatusUnauthorized},
		{"wrong password", "ci", "nope", http.StatusUnauthorized},
		{"right password", "ci", "s3cret-pass", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Host+"/v2/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("GET /v2/ as %q: status %d, want %d", tc.user, resp.StatusCode, tc.want)
			}
		})
	}

	// Push and pull a real image with go-containerregistry, then delete it.
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.Host+"/testenv/check:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(authn.Anonymous)); err == nil {
		t.Fatal("anonymous push succeeded; want unauthorized")
	} else {
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous push: %v; want a 401 transport error", err)
		}
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(r.Authenticator())); err != nil {
		t.Fatalf("push: %v", err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(r.Authenticator()))
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	if desc.Digest != want {
		t.Fatalf("pushed digest %s, registry has %s", want, desc.Digest)
	}
	if err := remote.Delete(ref.Context().Digest(want.String()), remote.WithContext(ctx), remote.WithAuth(r.Authenticator())); err != nil {
		t.Fatalf("delete (storage.delete must be enabled): %v", err)
	}

	// Close stops the process and removes everything it created.
	pid := r.cmd.Process.Pid
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("registry pid %d still exists after Close (kill 0: %v)", pid, err)
	}
	for _, p := range []string{r.DataDir, r.workDir} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still exists after Close (%v)", p, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRegistryAnonymousKeepsGivenDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	r, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.Host+"/anon/img:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(r.Authenticator())); err != nil {
		_ = r.Close()
		t.Fatalf("anonymous push: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// A new registry on the same Dir serves what the first one stored.
	r2, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r2.Close() }()
	ref2, err := name.ParseReference(r2.Host+"/anon/img:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Head(ref2, remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("head after restart: %v", err)
	}
	want, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want {
		t.Fatalf("digest after restart %s, want %s", got.Digest, want)
	}
}
