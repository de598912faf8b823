package signing

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// FetchAttached takes the content of a signature layer holding the standard
// payload from its digest, and downloads any other: against
// go-containerregistry's registry on loopback, counting blob reads.
func TestFetchAttachedKnownPayload(t *testing.T) {
	ctx := t.Context()
	var mu sync.Mutex
	var blobGets []string
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			mu.Lock()
			blobGets = append(blobGets, r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:])
			mu.Unlock()
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/team/orders", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte(`{"critical":{"identity":{"docker-reference":"elsewhere/orders"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("a", 64) + `"},"type":"cosign container image signature"},"optional":{"by":"someone"}}`)
	otherLayer := ggcrstatic.NewLayer(other, ctypes.SimpleSigningMediaType)
	otherDigest, err := otherLayer.Digest()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		layers       func(d name.Digest) [][]byte
		wantDownload int
	}{
		{"standard payload: no download", func(d name.Digest) [][]byte {
			p, err := SignaturePayload(d)
			if err != nil {
				t.Fatal(err)
			}
			return [][]byte{p}
		}, 0},
		{"another payload: downloaded", func(name.Digest) [][]byte { return [][]byte{other} }, 1},
		{"both", func(d name.Digest) [][]byte {
			p, err := SignaturePayload(d)
			if err != nil {
				t.Fatal(err)
			}
			return [][]byte{p, other}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := random.Image(64, 1)
			if err != nil {
				t.Fatal(err)
			}
			h, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			d := repo.Digest(h.String())
			if err := remote.Write(d, img, remote.WithContext(ctx)); err != nil {
				t.Fatal(err)
			}
			var atts []Attached
			for _, p := range tt.layers(d) {
				l := ggcrstatic.NewLayer(p, ctypes.SimpleSigningMediaType)
				ld, err := l.Digest()
				if err != nil {
					t.Fatal(err)
				}
				atts = append(atts, Attached{Desc: v1.Descriptor{MediaType: ctypes.SimpleSigningMediaType, Digest: ld, Size: int64(len(p))}, Payload: p})
			}
			sigImg, err := Image(atts)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(Signatures.Tag(d), sigImg, remote.WithContext(ctx)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			blobGets = nil
			mu.Unlock()
			set, err := FetchAttached(ctx, d, Signatures, true, remote.WithContext(ctx))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.layers(d)
			if len(set.Layers) != len(want) {
				t.Fatalf("%d layers, want %d", len(set.Layers), len(want))
			}
			for i, l := range set.Layers {
				if !bytes.Equal(l.Payload, want[i]) {
					t.Errorf("layer %d: payload %q, want %q", i, l.Payload, want[i])
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(blobGets) != tt.wantDownload {
				t.Fatalf("%d blob downloads (%v), want %d", len(blobGets), blobGets, tt.wantDownload)
			}
			if tt.wantDownload == 1 && blobGets[0] != otherDigest.String() {
				t.Errorf("downloaded %s, want the other payload %s", blobGets[0], otherDigest)
			}
		})
	}
}
