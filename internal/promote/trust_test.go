package promote

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/signing"
)

// How referrers are sorted: kept whole when every layer verifies with the
// source key, dropped whole, with the reason, otherwise; and what decide
// makes of the signatures kept.
func TestSortReferrers(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src, other := releasetest.NewKey(t, dir, "source", "pw").Signer(t), releasetest.NewKey(t, dir, "other", "pw").Signer(t)
	d, err := name.NewDigest("nonprod.example/team/orders@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	h := digestHash(t, d)
	sigBy := func(s *signing.Signer) signing.Attached {
		a, err := signing.SignLayer(ctx, d, s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ref := func(id, artifactType string, kind signing.Kind, layers ...signing.Attached) signing.Referrer {
		sum := sha256.Sum256([]byte(id))
		return signing.Referrer{Digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, ArtifactType: artifactType, Kind: kind, Layers: layers}
	}
	bundle := signing.Attached{Desc: v1.Descriptor{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Digest: h}}
	tests := []struct {
		name       string
		ref        signing.Referrer
		kept       bool
		reason     string
		wantErrKey bool
	}{
		{"signed with the source key", ref("a", signing.ReferrerSignature, signing.Signatures, sigBy(src)), true, "", false},
		{"signed with another key", ref("b", signing.ReferrerSignature, signing.Signatures, sigBy(other)), false, "does not verify with key", false},
		{"one good layer, one by another key", ref("c", signing.ReferrerSignature, signing.Signatures, sigBy(src), sigBy(other)), false, "does not verify with key", false},
		{"no layers", ref("d", signing.ReferrerSignature, signing.Signatures), false, "has no layers", false},
		{"another artifact type", ref("e", "application/vnd.example.report+json", "", signing.Attached{Desc: v1.Descriptor{MediaType: "application/json", Digest: h}}), false, "no trusted key can vouch for it", false},
		{"a sigstore bundle", ref("f", "application/vnd.dev.sigstore.bundle.v0.3+json", "", bundle), false, "sigstore bundle", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := sortTrust(ctx, h, nil, nil, []signing.Referrer{tt.ref}, src.Verifier(), src.Verifier())
			if kept := len(tr.refs) == 1; kept != tt.kept {
				t.Fatalf("kept %v, want %v (dropped %+v)", kept, tt.kept, tr.dropped)
			}
			if tt.kept {
				if len(tr.refSigs) != len(tt.ref.Layers) || len(tr.dropped) != 0 {
					t.Fatalf("kept with %d signatures, dropped %+v", len(tr.refSigs), tr.dropped)
				}
				return
			}
			if len(tr.refSigs) != 0 || len(tr.dropped) != 1 || tr.dropped[0].Kind != "referrer" || tr.dropped[0].Digest != tt.ref.Digest.String() ||
				!strings.Contains(tr.dropped[0].Reason, tt.reason) {
				t.Fatalf("dropped %+v, signatures %d; want the referrer dropped whole because %q", tr.dropped, len(tr.refSigs), tt.reason)
			}
			if got := strings.Contains(tr.dropped[0].Reason, signing.ErrKeyless.Error()); got != tt.wantErrKey {
				t.Errorf("reason names keyless material: %v, want %v", got, tt.wantErrKey)
			}
		})
	}

	// decide: a kept signature referrer is a source signature; a dropped
	// one is none, and the refusal says why.
	o := Options{SourceKey: src.Verifier(), AllowUnaccepted: true, AllowNoSBOM: true, AllowNoProvenance: true}
	kept := sortTrust(ctx, h, nil, nil, []signing.Referrer{tests[0].ref}, src.Verifier(), src.Verifier())
	if err := decide(&kept, d, o, src.Verifier()); err != nil {
		t.Errorf("decide with a trusted signature referrer: %v", err)
	}
	dropped := sortTrust(ctx, h, nil, nil, []signing.Referrer{tests[2].ref}, src.Verifier(), src.Verifier())
	if err := decide(&dropped, d, o, src.Verifier()); !errors.Is(err, signing.ErrUntrusted) || !strings.Contains(err.Error(), "does not verify with key") {
		t.Errorf("decide with only a mixed referrer: %v; want an ErrUntrusted refusal saying why", err)
	}
}

// digestHash is d's digest as a hash.
func digestHash(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
