//go:build integration

package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/publish"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/signing"
	"github.com/go-aks/pipeline/internal/testenv/faultproxy"
)

func TestMain(m *testing.M) { releasetest.Main(m) }

// fixture is a started environment plus helpers.
type fixture struct {
	*releasetest.Env
	t *testing.T
}

func newFixture(t *testing.T) *fixture {
	return &fixture{Env: releasetest.Start(t), t: t}
}

func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(f.t.Context(), 5*time.Minute)
	f.t.Cleanup(cancel)
	return ctx
}

func (f *fixture) srcRepo() name.Repository {
	r, err := name.NewRepository(f.NonProd.Host()+"/team/orders", name.Insecure)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) dstRepo() name.Repository {
	r, err := name.NewRepository(f.Prod.Host()+"/prod/orders", name.Insecure)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) srcRO(ctx context.Context) signing.RegistryOptions {
	c := f.NonProd.Client(nil)
	return signing.RegistryOptions{Remote: c.Remote(ctx), Name: c.NameOptions()}
}

func (f *fixture) dstRO(ctx context.Context) signing.RegistryOptions {
	c := f.Prod.Client(nil)
	return signing.RegistryOptions{Remote: c.Remote(ctx), Name: c.NameOptions()}
}

// publish pushes the sample image of revision, signed with key (nil: not
// signed), tagged "candidate".
func (f *fixture) publish(ctx context.Context, revision string, key *releasetest.Key) name.Digest {
	f.t.Helper()
	idx := releasetest.SampleIndex(ctx, f.t, revision)
	if key == nil {
		d, err := idx.Digest()
		if err != nil {
			f.t.Fatal(err)
		}
		ref := f.srcRepo().Digest(d.String())
		if err := remote.WriteIndex(ref, idx, f.srcRO(ctx).Remote...); err != nil {
			f.t.Fatal(err)
		}
		if err := remote.Tag(f.srcRepo().Tag("candidate"), idx, f.srcRO(ctx).Remote...); err != nil {
			f.t.Fatal(err)
		}
		return ref
	}
	res, err := publish.Publish(ctx, publish.Options{
		Index: idx, Repository: f.srcRepo(), Tags: []string{"candidate"},
		Registry: f.NonProd.Client(nil), Signer: key.Signer(f.t),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := name.NewDigest(res.Ref, name.Insecure)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// accept attaches an acceptance record signed with key.
func (f *fixture) accept(ctx context.Context, d name.Digest, key releasetest.Key, env, result string) {
	f.t.Helper()
	rec, err := acceptance.New(env, d.String(), &acceptance.Suite{Tests: 5}, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	rec.Result = result
	pred, err := json.Marshal(rec)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := signing.Attest(ctx, d, key.Signer(f.t), acceptance.PredicateType, pred, f.srcRO(ctx), false); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) options(src name.Digest) Options {
	return Options{
		From: src, To: f.dstRepo(),
		Source: f.NonProd.Client(nil), Target: f.Prod.Client(nil),
		SourceKey: f.NonProdKey.Verifier(f.t), AcceptanceEnvironment: "staging",
		Signer: f.ProdKey.Signer(f.t),
	}
}

// assertProdUntouched checks that nothing was written to production.
func (f *fixture) assertProdUntouched(ctx context.Context, d name.Digest) {
	f.t.Helper()
	if w := f.Prod.Proxy.Stats().Writes; w != 0 {
		f.t.Errorf("%d write requests reached production: %v", w, f.Prod.Proxy.Log())
	}
	if _, err := remote.Head(f.dstRepo().Digest(d.DigestStr()), f.dstRO(ctx).Remote...); regclient.StatusCode(err) != http.StatusNotFound {
		f.t.Errorf("production has %s (HEAD: %v); want 404", d.DigestStr(), err)
	}
}

// Negative cases first: every refusal must leave production untouched.
func TestPromoteRefusesUntrusted(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()

	unsigned := f.publish(ctx, "unsigned", nil)
	f.accept(ctx, unsigned, f.NonProdKey, "staging", acceptance.ResultPassed)

	signed := f.publish(ctx, "signed", &f.NonProdKey)
	f.accept(ctx, signed, f.NonProdKey, "staging", acceptance.ResultPassed)

	wrongSigner := f.publish(ctx, "signed-by-other", &f.Other)
	f.accept(ctx, wrongSigner, f.NonProdKey, "staging", acceptance.ResultPassed)

	noAcceptance := f.publish(ctx, "no-acceptance", &f.NonProdKey)

	otherEnv := f.publish(ctx, "accepted-elsewhere", &f.NonProdKey)
	f.accept(ctx, otherEnv, f.NonProdKey, "dev", acceptance.ResultPassed)

	failed := f.publish(ctx, "failed-acceptance", &f.NonProdKey)
	f.accept(ctx, failed, f.NonProdKey, "staging", "failed")

	acceptedByOther := f.publish(ctx, "accepted-by-other-key", &f.NonProdKey)
	f.accept(ctx, acceptedByOther, f.Other, "staging", acceptance.ResultPassed)

	// A signature moved from a signed digest onto another digest: the
	// signed payload names the other digest, so it must not verify.
	stolen := f.publish(ctx, "stolen-signature", nil)
	f.accept(ctx, stolen, f.NonProdKey, "staging", acceptance.ResultPassed)
	copySigTag(ctx, t, f, signed, stolen)

	missing, err := name.NewDigest(f.srcRepo().String()+"@sha256:"+strings.Repeat("ab", 32), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		src       name.Digest
		mutate    func(*Options)
		untrusted bool
		wantErr   string
	}{
		{"unsigned image", unsigned, nil, true, "does not verify"},
		{"signed with another key", wrongSigner, nil, true, "does not verify"},
		{"wrong source public key", signed, func(o *Options) { o.SourceKey = f.Other.Verifier(t) }, true, "does not verify"},
		{"signature copied from another digest", stolen, nil, true, "does not verify"},
		{"missing acceptance record", noAcceptance, nil, true, "no passing acceptance record"},
		{"acceptance in another environment", otherEnv, nil, true, `not "staging"`},
		{"acceptance result failed", failed, nil, true, `not "passed"`},
		{"acceptance signed by an untrusted key", acceptedByOther, nil, true, "no passing acceptance record"},
		{"acceptance key mismatch", signed, func(o *Options) { o.AcceptanceKey = f.Other.Verifier(t) }, true, "no passing acceptance record"},
		{"reference does not resolve", missing, nil, false, "has no such manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Prod.Proxy.Reset()
			o := f.options(tt.src)
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			rec, err := Promote(ctx, o)
			if err == nil {
				t.Fatalf("promoted %+v; want a refusal", rec)
			}
			t.Log(err)
			if errors.Is(err, signing.ErrUntrusted) != tt.untrusted {
				t.Errorf("errors.Is(err, ErrUntrusted) = %v, want %v", !tt.untrusted, tt.untrusted)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.untrusted && !strings.Contains(err.Error(), "nothing written to "+f.Prod.Host()) {
				t.Errorf("error %q does not say production was left alone", err)
			}
			f.assertProdUntouched(ctx, tt.src)
		})
	}
}

// copySigTag writes the .sig manifest of from under the .sig tag of to.
func copySigTag(ctx context.Context, t *testing.T, f *fixture, from, to name.Digest) {
	t.Helper()
	ro := f.srcRO(ctx)
	fromTag := f.srcRepo().Tag(strings.Replace(from.DigestStr(), ":", "-", 1) + ".sig")
	toTag := f.srcRepo().Tag(strings.Replace(to.DigestStr(), ":", "-", 1) + ".sig")
	img, err := remote.Image(fromTag, ro.Remote...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(toTag, img, ro.Remote...); err != nil {
		t.Fatal(err)
	}
}

func TestPromoteBadCredentialsNotRetried(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "creds", &f.NonProdKey)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)

	badClient := func(s releasetest.Side, hint string) *regclient.Client {
		return regclient.New(regclient.Options{
			Credentials:     regclient.Credentials{Username: s.Registry.Username, Password: "wrong-password"},
			PlainHTTP:       true,
			Backoff:         regclient.Backoff{Initial: 50 * time.Millisecond, Factor: 2, Steps: 5},
			CredentialsHint: hint,
		})
	}
	tests := []struct {
		name  string
		side  func() releasetest.Side
		apply func(*Options, *regclient.Client)
		hint  string
	}{
		{"target", func() releasetest.Side { return f.Prod }, func(o *Options, c *regclient.Client) { o.Target = c }, "TARGET_REGISTRY_USERNAME/TARGET_REGISTRY_PASSWORD"},
		{"source", func() releasetest.Side { return f.NonProd }, func(o *Options, c *regclient.Client) { o.Source = c }, "REGISTRY_USERNAME/REGISTRY_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			side := tt.side()
			side.Proxy.Reset()
			f.Prod.Proxy.Reset()
			o := f.options(src)
			tt.apply(&o, badClient(side, tt.hint))
			_, err := Promote(ctx, o)
			if err == nil {
				t.Fatal("promote succeeded with a wrong password")
			}
			t.Log(err)
			for _, want := range []string{side.Host(), "401", tt.hint, "not retried"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			// go-containerregistry pings /v2/ (401 challenge) and then tries
			// the credentials once per request (the reads run in parallel):
			// no request may be answered 401 twice, i.e. none was retried.
			seen := map[string]bool{}
			for _, l := range side.Proxy.Log() {
				if strings.HasSuffix(l, " 401") && !strings.HasPrefix(l, "GET /v2/ ") {
					if seen[l] {
						t.Errorf("%s answered twice: credentials were retried (%v)", l, side.Proxy.Log())
					}
					seen[l] = true
				}
			}
			if side.Proxy.Stats().Status401 == 0 {
				t.Fatal("no 401 answer: the test proves nothing")
			}
			if w := f.Prod.Proxy.Stats().Writes; w != 0 {
				t.Errorf("%d writes reached production", w)
			}
		})
	}
}

func TestPromoteTransientFaults(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "faults", &f.NonProdKey)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)

	tests := []struct {
		name    string
		side    func() releasetest.Side
		fault   faultproxy.Fault
		wantErr string // empty: promote must succeed after retries
	}{
		{"target 503 for a while", func() releasetest.Side { return f.Prod },
			faultproxy.Fault{Times: 3, Status: http.StatusServiceUnavailable}, ""},
		{"source 502 for a while", func() releasetest.Side { return f.NonProd },
			faultproxy.Fault{Times: 3, Status: http.StatusBadGateway}, ""},
		{"target times out for a while", func() releasetest.Side { return f.Prod },
			faultproxy.Fault{Times: 2, Delay: 3 * time.Second, Match: faultproxy.IsManifest}, ""},
		{"target upload cut once", func() releasetest.Side { return f.Prod },
			faultproxy.Fault{Times: 1, CutAfter: 512 << 10, Match: faultproxy.IsBlobUpload}, ""},
		{"target 503 for good", func() releasetest.Side { return f.Prod },
			faultproxy.Fault{Times: -1, Status: http.StatusServiceUnavailable}, "kept failing (HTTP 503) after 4 attempts"},
		{"source times out for good", func() releasetest.Side { return f.NonProd },
			faultproxy.Fault{Times: -1, Delay: 3 * time.Second}, "not answering after 4 attempts"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			side := tt.side()
			// A fresh production repository per case, so each case copies.
			o := f.options(src)
			var err error
			o.To, err = name.NewRepository(f.Prod.Host()+"/faults/case"+fmt.Sprint(i), name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			side.Proxy.Reset()
			fault := tt.fault
			side.Proxy.SetFault(&fault)
			defer side.Proxy.SetFault(nil)
			rec, err := Promote(ctx, o)
			faults := side.Proxy.Stats().Faults
			t.Logf("faults injected: %d", faults)
			if faults == 0 {
				t.Fatal("no fault was injected: the test proves nothing")
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("promote failed despite bounded retries: %v", err)
				}
				if rec.Digest != src.DigestStr() {
					t.Fatalf("record digest %s", rec.Digest)
				}
				validateCopy(ctx, t, f, o.To.Digest(src.DigestStr()))
				return
			}
			if err == nil {
				t.Fatal("promote succeeded against a registry that never recovers")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), side.Host()) {
				t.Errorf("error %q should contain %q and name %s", err, tt.wantErr, side.Host())
			}
			// Bounded: 4 attempts per request (nested upload retries at most
			// square it); never unbounded.
			if faults > 16 {
				t.Errorf("%d faulted requests: retries are not bounded", faults)
			}
		})
	}
}

// validateCopy downloads everything at the destination and checks every
// digest, and that the index is byte-for-byte the source's.
func validateCopy(ctx context.Context, t *testing.T, f *fixture, dst name.Digest) {
	t.Helper()
	idx, err := remote.Index(dst, f.dstRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("copied index does not validate: %v", err)
	}
	d, err := idx.Digest()
	if err != nil || d.String() != dst.DigestStr() {
		t.Fatalf("copied index digest %s (%v), want %s", d, err, dst.DigestStr())
	}
}

func TestPromoteInterruptedThenResumed(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "resume", &f.NonProdKey)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)

	// Every blob upload to production is cut after 64 KiB: the copy fails
	// part way, after retries.
	f.Prod.Proxy.SetFault(&faultproxy.Fault{Times: -1, CutAfter: 64 << 10, Match: faultproxy.IsBlobUpload})
	_, err := Promote(ctx, f.options(src))
	f.Prod.Proxy.SetFault(nil)
	if err == nil {
		t.Fatal("promote succeeded through a proxy cutting every upload")
	}
	t.Log(err)
	if f.Prod.Proxy.Stats().Faults == 0 {
		t.Fatal("no upload was cut")
	}
	dst := f.dstRepo().Digest(src.DigestStr())
	if _, err := remote.Head(dst, f.dstRO(ctx).Remote...); regclient.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("interrupted copy left a manifest for %s (HEAD: %v): an index must not appear before its blobs", dst, err)
	}

	// Run again: it completes, and the result is identical to the source.
	f.Prod.Proxy.Reset()
	rec, err := Promote(ctx, f.options(src))
	if err != nil {
		t.Fatalf("resumed promote: %v", err)
	}
	if rec.AlreadyPromoted {
		t.Fatal("record says already promoted after an interrupted copy")
	}
	validateCopy(ctx, t, f, dst)
	assertSameManifests(ctx, t, f, src, dst)
}

// assertSameManifests compares the raw manifests of every platform.
func assertSameManifests(ctx context.Context, t *testing.T, f *fixture, src, dst name.Digest) {
	t.Helper()
	si, err := remote.Index(src, f.srcRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	di, err := remote.Index(dst, f.dstRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	sm, _ := si.IndexManifest()
	dm, _ := di.IndexManifest()
	if len(sm.Manifests) != 2 || len(dm.Manifests) != len(sm.Manifests) {
		t.Fatalf("platform manifests: source %d, destination %d", len(sm.Manifests), len(dm.Manifests))
	}
	for i := range sm.Manifests {
		if sm.Manifests[i].Digest != dm.Manifests[i].Digest {
			t.Fatalf("platform %d: %s vs %s", i, sm.Manifests[i].Digest, dm.Manifests[i].Digest)
		}
	}
}

func TestPromoteCopiesSignsAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "good", &f.NonProdKey)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)

	// Overwrite the tag with another image after acceptance: promote works
	// from the digest, so it still promotes exactly the accepted image.
	moved := f.publish(ctx, "pushed-after-acceptance", &f.NonProdKey)
	tagged, err := remote.Head(f.srcRepo().Tag("candidate"), f.srcRO(ctx).Remote...)
	if err != nil || tagged.Digest.String() != moved.DigestStr() {
		t.Fatalf("tag did not move: %v %v", tagged, err)
	}

	start := time.Now()
	o := f.options(src)
	o.Tags = []string{"release-1"}
	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first promote: %s, %d bytes uploaded", time.Since(start), f.Prod.Proxy.Stats().BlobUploadBytes)
	dst := f.dstRepo().Digest(src.DigestStr())
	if rec.Destination != dst.String() || rec.Source != src.String() || rec.Digest != src.DigestStr() ||
		rec.AlreadyPromoted || !rec.SignedForProduction || rec.Acceptance == nil || rec.Acceptance.Environment != "staging" ||
		rec.SourceKey != f.NonProdKey.Verifier(t).Identity() || rec.ProductionKey != f.ProdKey.Signer(t).Identity() ||
		rec.Time.IsZero() || len(rec.Platforms) != 2 {
		t.Fatalf("record %+v", rec)
	}
	if f.Prod.Proxy.Stats().BlobUploadBytes == 0 {
		t.Fatal("first promote uploaded nothing")
	}
	validateCopy(ctx, t, f, dst)
	assertSameManifests(ctx, t, f, src, dst)
	if _, err := remote.Head(dst, f.dstRO(ctx).Remote...); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(f.dstRepo().Digest(moved.DigestStr()), f.dstRO(ctx).Remote...); regclient.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("the image the tag moved to reached production (%v)", err)
	}
	tagDesc, err := remote.Head(f.dstRepo().Tag("release-1"), f.dstRO(ctx).Remote...)
	if err != nil || tagDesc.Digest.String() != src.DigestStr() {
		t.Fatalf("production tag: %v %v", tagDesc, err)
	}

	// At the destination: production signature, the copied non-production
	// signature, SBOM and acceptance attestations all verify.
	dro := f.dstRO(ctx)
	if _, err := signing.VerifySignature(ctx, dst, f.ProdKey.Verifier(t), dro); err != nil {
		t.Fatalf("production signature: %v", err)
	}
	if _, err := signing.VerifySignature(ctx, dst, f.NonProdKey.Verifier(t), dro); err != nil {
		t.Fatalf("copied non-production signature: %v", err)
	}
	if _, err := signing.VerifyAttestations(ctx, dst, f.NonProdKey.Verifier(t), signing.PredicateSPDX, dro); err != nil {
		t.Fatalf("copied SBOM attestation: %v", err)
	}
	if _, err := AcceptedRecord(ctx, dst, f.NonProdKey.Verifier(t), "staging", dro); err != nil {
		t.Fatalf("copied acceptance attestation: %v", err)
	}
	if _, err := signing.VerifySignature(ctx, dst, f.Other.Verifier(t), dro); !errors.Is(err, signing.ErrUntrusted) {
		t.Fatalf("an unrelated key verifies at the destination: %v", err)
	}

	// Again: a no-op that succeeds and moves no layer data.
	f.Prod.Proxy.Reset()
	f.NonProd.Proxy.Reset()
	again, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	st := f.Prod.Proxy.Stats()
	t.Logf("second promote: %d requests to production, %d blob uploads, %d bytes, %d manifest PUTs",
		st.Requests, st.BlobUploads, st.BlobUploadBytes, st.ManifestPuts)
	if !again.AlreadyPromoted || again.SignedForProduction {
		t.Fatalf("second record %+v; want alreadyPromoted and no new signature", again)
	}
	if st.BlobUploads != 0 || st.BlobUploadBytes != 0 {
		t.Fatalf("second promote uploaded %d blobs (%d bytes); want none", st.BlobUploads, st.BlobUploadBytes)
	}
	if st.ManifestPuts > 1 { // only the optional tag may be re-put
		t.Fatalf("second promote wrote %d manifests: %v", st.ManifestPuts, f.Prod.Proxy.Log())
	}
	if n, err := signing.VerifySignature(ctx, dst, f.ProdKey.Verifier(t), dro); err != nil || n != 1 {
		t.Fatalf("production signatures after the second run: %d (%v); want exactly 1", n, err)
	}
	layers := layerDigests(ctx, t, f, src)
	for _, l := range f.NonProd.Proxy.Log() {
		for _, d := range layers {
			if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/blobs/"+d) {
				t.Fatalf("second promote downloaded layer %s from the source: %s", d, l)
			}
		}
	}
}

// layerDigests lists the layer digests of every platform image of d.
func layerDigests(ctx context.Context, t *testing.T, f *fixture, d name.Digest) []string {
	t.Helper()
	idx, err := remote.Index(d, f.srcRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range im.Manifests {
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			h, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, h.String())
		}
	}
	if len(out) != 2 {
		t.Fatalf("sample image has %d layers, want 2", len(out))
	}
	return out
}

func TestPromoteAllowUnaccepted(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publish(ctx, "break-glass", &f.NonProdKey)
	o := f.options(src)
	o.AllowUnaccepted = true
	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.AllowedUnaccepted || rec.Acceptance != nil {
		t.Fatalf("record %+v; want allowedUnaccepted", rec)
	}
	validateCopy(ctx, t, f, f.dstRepo().Digest(src.DigestStr()))
}

func TestPromoteSingleImage(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	idx := releasetest.SampleIndex(ctx, t, "single")
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	ref := f.srcRepo().Digest(im.Manifests[0].Digest.String())
	if err := remote.Write(ref, img, f.srcRO(ctx).Remote...); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Sign(ctx, ref, f.NonProdKey.Signer(t), f.srcRO(ctx)); err != nil {
		t.Fatal(err)
	}
	f.accept(ctx, ref, f.NonProdKey, "staging", acceptance.ResultPassed)
	o := f.options(ref)
	o.AllowNoSBOM, o.AllowNoProvenance = true, true // a bare image: no SBOM or provenance attached
	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(f.dstRepo().Digest(rec.Digest), f.dstRO(ctx).Remote...)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != im.Manifests[0].Digest {
		t.Fatalf("digest %s", d)
	}
}
