//go:build integration

package regclient_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/testenv/faultproxy"
	"github.com/go-aks/pipeline/internal/testenv/registry"
)

// target is a real registry with htpasswd credentials behind a fault proxy.
type target struct {
	reg   *registry.Registry
	proxy *faultproxy.Proxy
}

func startTarget(ctx context.Context, t *testing.T) target {
	t.Helper()
	side := releasetest.StartSide(ctx, t, "session-ci", "session-secret")
	return target{reg: side.Registry, proxy: side.Proxy}
}

func (tg target) client() *regclient.Client {
	return regclient.New(regclient.Options{
		Credentials: regclient.Credentials{Username: tg.reg.Username, Password: tg.reg.Password},
		PlainHTTP:   true,
		Backoff:     regclient.Backoff{Initial: 10 * time.Millisecond, Factor: 2, Max: 50 * time.Millisecond, Steps: 3},
		// Generous: a cut connection must fail by itself, not by timeout.
		RequestTimeout: 10 * time.Second,
	})
}

func (tg target) repo(t *testing.T, path string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(tg.proxy.Host+"/"+path, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func blob(t *testing.T, size int) v1.Layer {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(data, types.OCIUncompressedLayer)
}

// stored reads the blob back from the registry itself (not the proxy) and
// compares it with l.
func stored(ctx context.Context, t *testing.T, tg target, path string, l v1.Layer) {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(tg.reg.Host+"/"+path+"@"+d.String(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Layer(ref, remote.WithContext(ctx), remote.WithAuth(tg.reg.Authenticator()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := got.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	have, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("registry does not serve %s: %v", d, err)
	}
	want, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, _ := io.ReadAll(want)
	if !bytes.Equal(have, wantBytes) {
		t.Fatalf("registry serves %d bytes for %s, want the %d uploaded", len(have), d, len(wantBytes))
	}
}

func TestSessionUploadBlob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tg := startTarget(ctx, t)
	isPut := func(r *http.Request) bool { return r.Method == http.MethodPut }
	isPost := func(r *http.Request) bool { return r.Method == http.MethodPost }
	tests := []struct {
		name    string
		fault   *faultproxy.Fault
		twice   bool  // upload the same blob again
		wantReq int64 // exact requests after the session opened; 0: not checked
		// wantStatus is the registry status the upload fails with; 0:
		// the upload must succeed.
		wantStatus int
	}{
		{name: "monolithic: POST and one PUT", wantReq: 2},
		{name: "blob there already", twice: true, wantReq: 4},
		{name: "PUT cut mid-body once", fault: &faultproxy.Fault{Times: 1, CutAfter: 1 << 10, Match: isPut}},
		{name: "POST 503 twice", fault: &faultproxy.Fault{Times: 2, Status: http.StatusServiceUnavailable, Match: isPost}},
		{name: "PUT 502 for good", fault: &faultproxy.Fault{Times: -1, Status: http.StatusBadGateway, Match: isPut}, wantStatus: http.StatusBadGateway},
		{name: "unauthorised, not retried", fault: &faultproxy.Fault{Times: -1, Status: http.StatusUnauthorized, Match: isPost}, wantStatus: http.StatusUnauthorized, wantReq: 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := fmt.Sprintf("session/upload-%d", i)
			s, err := tg.client().Session(ctx, tg.repo(t, path), true)
			if err != nil {
				t.Fatal(err)
			}
			l := blob(t, 64<<10)
			tg.proxy.Reset()
			if tt.fault != nil {
				f := *tt.fault
				tg.proxy.SetFault(&f)
				defer tg.proxy.SetFault(nil)
			}
			err = s.UploadBlob(ctx, l)
			if err == nil && tt.twice {
				err = s.UploadBlob(ctx, l)
			}
			st := tg.proxy.Stats()
			t.Logf("requests %d, faults %d: %v", st.Requests, st.Faults, tg.proxy.Log())
			if tt.fault != nil && st.Faults == 0 {
				t.Fatal("no fault was injected: the test proves nothing")
			}
			if tt.wantReq != 0 && st.Requests != tt.wantReq {
				t.Errorf("%d requests, want %d", st.Requests, tt.wantReq)
			}
			if tt.wantStatus != 0 {
				if got := regclient.StatusCode(err); got != tt.wantStatus {
					t.Fatalf("err = %v (status %d), want status %d", err, got, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored(ctx, t, tg, path, l)
		})
	}
}

// A layer whose content does not match its digest is refused before any
// request.
type lyingLayer struct{ v1.Layer }

func (l lyingLayer) Digest() (v1.Hash, error) {
	return v1.NewHash("sha256:" + strings.Repeat("0", 64))
}

func TestSessionUploadBlobRefusesWrongDigest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := startTarget(ctx, t)
	s, err := tg.client().Session(ctx, tg.repo(t, "session/lying"), true)
	if err != nil {
		t.Fatal(err)
	}
	tg.proxy.Reset()
	err = s.UploadBlob(ctx, lyingLayer{blob(t, 128)})
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Fatalf("err = %v, want a digest mismatch", err)
	}
	if n := tg.proxy.Stats().Requests; n != 0 {
		t.Errorf("%d requests sent for a blob that does not match its digest", n)
	}
}

// One session serves reads and writes with one ping.
func TestSessionOnePing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg := startTarget(ctx, t)
	tg.proxy.Reset()
	repo := tg.repo(t, "session/ping")
	s, err := tg.client().Session(ctx, repo, true)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ref := repo.Digest(d.String())
	opts := s.Remote(ctx)
	if _, err := remote.Head(ref, opts...); err == nil {
		t.Fatal("image there before it was written")
	}
	pusher, err := remote.NewPusher(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := pusher.Push(ctx, ref, img); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Get(ref, opts...); err != nil {
		t.Fatal(err)
	}
	pings := 0
	for _, l := range tg.proxy.Log() {
		if strings.HasPrefix(l, "GET /v2/ ") {
			pings++
		}
	}
	if pings != 1 {
		t.Fatalf("%d pings, want 1: %v", pings, tg.proxy.Log())
	}
}
