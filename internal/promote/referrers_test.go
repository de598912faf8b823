//go:build integration

package promote

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/signing"
)

// signReferrer signs d with the real cosign CLI as an OCI 1.1 referrer
// (`--registry-referrers-mode=oci-1-1`), not in the .sig tag.
func (f *fixture) signReferrer(ctx context.Context, d name.Digest, key releasetest.Key) {
	f.t.Helper()
	args := append([]string{"sign", "--key", key.PrivatePath, "--tlog-upload=false", "--registry-referrers-mode=oci-1-1", "-y"}, releasetest.CosignRegistryFlags...)
	out, err := f.CosignRunEnv(ctx, f.t, []string{"COSIGN_EXPERIMENTAL=1", "COSIGN_PASSWORD=" + key.Password}, append(args, d.String())...)
	if err != nil {
		f.t.Fatalf("cosign sign --registry-referrers-mode=oci-1-1 %s: %v\n%s", d, err, out)
	}
}

// acceptReferrer attaches a passing staging acceptance record signed with
// key to d as an OCI 1.1 attestation referrer, as cosign's
// WriteAttestationsReferrer lays it out: the record is attested on a copy
// of the image in another repository (same digest), and its DSSE envelope
// becomes the referrer's layer.
func (f *fixture) acceptReferrer(ctx context.Context, d name.Digest, key releasetest.Key) {
	f.t.Helper()
	ro := f.srcRO(ctx)
	idx, err := remote.Index(d, ro.Remote...)
	if err != nil {
		f.t.Fatal(err)
	}
	scratch := f.srcRepo().Registry.Repo("team", "scratch").Digest(d.DigestStr())
	if err := remote.WriteIndex(scratch, idx, ro.Remote...); err != nil {
		f.t.Fatal(err)
	}
	f.accept(ctx, scratch, key, "staging", acceptance.ResultPassed)
	atts, err := signing.FetchAttached(ctx, scratch, signing.Attestations, true, ro.Remote...)
	if err != nil {
		f.t.Fatal(err)
	}
	var layers []v1.Layer
	for _, a := range atts.Layers {
		layers = append(layers, static.NewLayer(a.Payload, a.Desc.MediaType))
	}
	if err := ociremote.WriteReferrer(d, signing.ReferrerAttestation, layers, nil, ociremote.WithRemoteOptions(ro.Remote...)); err != nil {
		f.t.Fatal(err)
	}
}

// unknownReferrer attaches a referrer of an artifact type no key vouches
// for.
func (f *fixture) unknownReferrer(ctx context.Context, d name.Digest) {
	f.t.Helper()
	l := static.NewLayer([]byte(`{"scanner":"example","findings":0}`), types.MediaType("application/json"))
	if err := ociremote.WriteReferrer(d, "application/vnd.example.scan-report+json", []v1.Layer{l}, nil, ociremote.WithRemoteOptions(f.srcRO(ctx).Remote...)); err != nil {
		f.t.Fatal(err)
	}
}

// referrerOnly publishes an unsigned image whose only signatures and
// acceptance record are OCI referrers: the trusted key's signature and
// acceptance record, a signature by an unknown key and an unknown artifact.
func (f *fixture) referrerOnly(ctx context.Context, revision string) name.Digest {
	f.t.Helper()
	src := f.publish(ctx, revision, nil)
	f.signReferrer(ctx, src, f.NonProdKey)
	f.signReferrer(ctx, src, f.Other)
	f.acceptReferrer(ctx, src, f.NonProdKey)
	f.unknownReferrer(ctx, src)
	have, err := signing.ReferrerDigests(ctx, src, f.srcRO(ctx).Remote...)
	if err != nil || len(have) != 4 {
		f.t.Fatalf("source referrers %v (%v); want 4", have, err)
	}
	return src
}

// referrerOptions promote src, whose signature and acceptance record
// come as referrers only, without SBOM and provenance.
func (f *fixture) referrerOptions(src name.Digest) Options {
	o := f.options(src)
	o.AllowNoSBOM, o.AllowNoProvenance = true, true
	return o
}

// cosignVerifies reports whether `cosign verify --key key` verifies ref,
// with cosign's OCI 1.1 behaviour when oci11.
func (f *fixture) cosignVerifies(ctx context.Context, ref, key string, oci11 bool) (bool, string) {
	f.t.Helper()
	var extra []string
	if oci11 {
		extra = append(extra, "--experimental-oci11=true")
	}
	out, err := f.CosignVerify(ctx, f.t, ref, key, extra...)
	return err == nil, out
}

// Point 4: attached artifacts are copied through go-containerregistry as
// OCI referrers too, with the same trust as the tag schema: a signature
// referrer counts only when it verifies with the source key, an attestation
// referrer only when it verifies with a trusted key; the others, and
// artifacts no key vouches for, are dropped and reported.
func TestPromoteCarriesOnlyTrustedReferrers(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.referrerOnly(ctx, "referrers")
	// And a sigstore bundle, as `cosign attest --new-bundle-format` attaches
	// it: keyless material, refused before cosign reads it.
	if err := ociremote.WriteAttestationNewBundleFormat(src, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`),
		"https://spdx.dev/Document", ociremote.WithRemoteOptions(f.srcRO(ctx).Remote...)); err != nil {
		t.Fatal(err)
	}
	o := f.referrerOptions(src)

	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Acceptance == nil {
		t.Errorf("the acceptance record came as a referrer; record %+v", rec)
	}
	var carried []string
	for _, r := range rec.Referrers {
		carried = append(carried, r.ArtifactType)
	}
	slices.Sort(carried)
	if want := []string{signing.ReferrerSignature, signing.ReferrerAttestation}; !slices.Equal(carried, want) {
		t.Errorf("referrers carried %v; want %v", carried, want)
	}
	var reasons []string
	for _, d := range rec.Dropped {
		if d.Kind != "referrer" {
			t.Errorf("dropped %+v; want only referrers", d)
		}
		reasons = append(reasons, d.Reason)
	}
	if len(reasons) != 3 || !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, "does not verify with key") }) ||
		!slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, signing.ErrKeyless.Error()) }) ||
		!slices.ContainsFunc(reasons, func(r string) bool {
			return strings.Contains(r, `"application/vnd.example.scan-report+json" is neither a cosign signature`)
		}) {
		t.Errorf("dropped %+v; want the unknown key's signature, the sigstore bundle and the unknown artifact, with why", rec.Dropped)
	}

	dst := f.dstRepo().Digest(src.DigestStr())
	have, err := signing.ReferrerDigests(ctx, dst, f.dstRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != 2 {
		t.Errorf("production lists %d referrers; want the 2 trusted ones", len(have))
	}
	for _, r := range rec.Referrers {
		if h, _ := v1.NewHash(r.Digest); !have[h] {
			t.Errorf("production does not list referrer %s", r.Digest)
		}
	}
	refs, err := signing.FetchReferrers(ctx, dst, f.dstRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if r.Kind != signing.Attestations {
			continue
		}
		for _, a := range r.Layers {
			st, err := signing.VerifyAttestationLayer(ctx, a, digestHash(t, src), f.NonProdKey.Verifier(t))
			if err != nil || st.PredicateType != acceptance.PredicateType {
				t.Errorf("attestation referrer in production: %s %v", st.PredicateType, err)
			}
		}
	}

	// The real cosign CLI: in production the source key's signature exists
	// only as the copied referrer (the .sig manifest holds the production
	// signature alone), the unknown key's referrer is not there.
	// (In the source, the unknown key's referrer does verify with it. Not
	// asked of the cosign CLI: with --experimental-oci11 it reads only the
	// last signature referrer listed, which is either.)
	if !referrerVerifies(ctx, t, src, f.srcRO(ctx).Remote, f.Other.Verifier(t)) {
		t.Fatal("the unknown key's signature referrer does not verify in the source")
	}
	for _, c := range []struct {
		key   string
		oci11 bool
		want  bool
	}{
		{f.NonProdKey.PublicPath, true, true},
		{f.NonProdKey.PublicPath, false, false},
		{f.ProdKey.PublicPath, false, true},
		{f.Other.PublicPath, true, false},
	} {
		if ok, out := f.cosignVerifies(ctx, dst.String(), c.key, c.oci11); ok != c.want {
			t.Errorf("cosign verify --key %s --experimental-oci11=%v in production: verified %v, want %v\n%s", c.key, c.oci11, ok, c.want, out)
		}
	}

	// A re-run finds everything there and writes nothing.
	f.Prod.Proxy.Reset()
	again, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.AlreadyPromoted || f.Prod.Proxy.Stats().Writes != 0 {
		t.Errorf("re-promote: already promoted %v, %d writes: %v", again.AlreadyPromoted, f.Prod.Proxy.Stats().Writes, f.Prod.Proxy.Log())
	}
}

// referrerVerifies reports whether a signature referrer of d verifies with v.
func referrerVerifies(ctx context.Context, t *testing.T, d name.Digest, opts []remote.Option, v *signing.Verifier) bool {
	t.Helper()
	refs, err := signing.FetchReferrers(ctx, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		for _, a := range r.Layers {
			if r.Kind == signing.Signatures && signing.VerifySignatureLayer(ctx, a, digestHash(t, d), v) == nil {
				return true
			}
		}
	}
	return false
}

// A signature referrer by an unknown key is no source signature: the
// promotion is refused and production receives nothing.
func TestPromoteRefusesUntrustedReferrerSignature(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "other-referrer", nil)
	f.signReferrer(ctx, src, f.Other)
	f.acceptReferrer(ctx, src, f.NonProdKey)
	o := f.referrerOptions(src)
	f.Prod.Proxy.Reset()
	_, err := Promote(ctx, o)
	if !errors.Is(err, signing.ErrUntrusted) || !strings.Contains(err.Error(), "does not verify with key") {
		t.Fatalf("err %v; want an ErrUntrusted refusal naming the signature", err)
	}
	f.assertProdUntouched(ctx, src)
}

// Where the destination has the referrers API (go-containerregistry's
// registry with referrers support, on loopback), the copied referrers are
// listed through it and no REPO:sha256-<hex> fallback tag is written.
func TestPromoteToReferrersAPI(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.referrerOnly(ctx, "referrers-api")
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	to, err := name.NewRepository(host+"/prod/orders", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	target := regclient.New(regclient.Options{PlainHTTP: true})
	o := f.referrerOptions(src)
	o.To, o.Target = to, target
	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Referrers) != 2 {
		t.Fatalf("referrers carried %+v; want 2", rec.Referrers)
	}
	dst := to.Digest(src.DigestStr())
	idx, err := remote.Referrers(dst, target.Remote(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Errorf("the referrers API lists %d referrers; want 2", len(im.Manifests))
	}
	tags, err := remote.List(to, target.Remote(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if !strings.HasSuffix(tag, ".sig") && !strings.HasSuffix(tag, ".att") && strings.HasPrefix(tag, "sha256-") {
			t.Errorf("fallback tag %s written although the registry has the referrers API", tag)
		}
	}
}
