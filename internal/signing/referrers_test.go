package signing

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// FetchReferrers against go-containerregistry's registry on loopback, with
// and without the referrers API: what it reads of each artifact type, and
// a referrers list that names a manifest about another image.
func TestFetchReferrers(t *testing.T) {
	for _, api := range []bool{false, true} {
		t.Run(map[bool]string{false: "tag schema", true: "referrers API"}[api], func(t *testing.T) {
			ctx := t.Context()
			srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(api), registry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(srv.Close)
			repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://")+"/team/orders", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			push := func() name.Digest {
				img, err := random.Image(64, 1)
				if err != nil {
					t.Fatal(err)
				}
				h, err := img.Digest()
				if err != nil {
					t.Fatal(err)
				}
				d := repo.Digest(h.String())
				if err := remote.Write(d, img); err != nil {
					t.Fatal(err)
				}
				return d
			}
			a, b := push(), push()
			body := []byte(`{"findings":0}`)
			l := static.NewLayer(body, types.MediaType("application/json"))
			if err := ociremote.WriteReferrer(b, "application/vnd.example.report+json", []v1.Layer{l}, nil); err != nil {
				t.Fatal(err)
			}
			refs, err := FetchReferrers(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 1 || refs[0].ArtifactType != "application/vnd.example.report+json" || refs[0].Kind != "" ||
				len(refs[0].Layers) != 1 || refs[0].Layers[0].Payload != nil || refs[0].Image == nil {
				t.Fatalf("referrers of b: %+v; want the report, its content not read", refs)
			}
			none, err := FetchReferrers(ctx, a)
			if err != nil || len(none) != 0 {
				t.Fatalf("referrers of a: %+v %v; want none", none, err)
			}
			if api {
				return
			}
			// A fallback index under a's tag that lists b's referrer.
			idx, err := remote.Index(repo.Tag("sha256-" + strings.TrimPrefix(b.DigestStr(), "sha256:")))
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.WriteIndex(repo.Tag("sha256-"+strings.TrimPrefix(a.DigestStr(), "sha256:")), idx); err != nil {
				t.Fatal(err)
			}
			if _, err := FetchReferrers(ctx, a); err == nil || !strings.Contains(err.Error(), "but its subject is") {
				t.Fatalf("a referrer about another image: %v; want an error naming its subject", err)
			}
		})
	}
}
