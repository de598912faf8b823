//go:build integration

package promote

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/publish"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/signing"
	"github.com/go-aks/pipeline/internal/testenv/faultproxy"
)

// publishWith publishes the sample image of revision with the non-production
// key and options changed by mutate.
func (f *fixture) publishWith(ctx context.Context, revision string, mutate func(*publish.Options)) name.Digest {
	f.t.Helper()
	o := publish.Options{
		Index: releasetest.SampleIndex(ctx, f.t, revision), Repository: f.srcRepo(),
		Registry: f.NonProd.Client(nil), Signer: f.NonProdKey.Signer(f.t),
	}
	if mutate != nil {
		mutate(&o)
	}
	res, err := publish.Publish(ctx, o)
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := name.NewDigest(res.Ref, name.Insecure)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// Point 1: a signature and an SBOM attestation made with an unknown key are
// attached to the accepted digest; production receives neither, and the
// record says what was dropped.
func TestPromoteDropsUntrustedAttachments(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publishWith(ctx, "extra-attachments", nil)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)
	sro := f.srcRO(ctx)
	if _, err := signing.Sign(ctx, src, f.Other.Signer(t), sro); err != nil {
		t.Fatal(err)
	}
	stmts, err := signing.VerifyAttestations(ctx, src, f.NonProdKey.Verifier(t), signing.PredicateSPDX, sro)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signing.Attest(ctx, src, f.Other.Signer(t), "spdxjson", stmts[0].Predicate, sro, false); err != nil {
		t.Fatal(err)
	}

	rec, err := Promote(ctx, f.options(src))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, d := range rec.Dropped {
		kinds[d.Kind]++
		if !strings.Contains(d.Reason, "does not verify with key") {
			t.Errorf("dropped %+v: reason does not say why", d)
		}
	}
	if kinds["signature"] != 1 || kinds["attestation"] != 1 {
		t.Fatalf("dropped %+v; want the unknown key's signature and SBOM attestation", rec.Dropped)
	}
	dst := f.dstRepo().Digest(src.DigestStr())
	dro := f.dstRO(ctx)
	if _, err := signing.VerifySignature(ctx, dst, f.Other.Verifier(t), dro); !errors.Is(err, signing.ErrUntrusted) {
		t.Fatalf("the unknown key's signature verifies in production: %v", err)
	}
	if _, err := signing.VerifyAttestations(ctx, dst, f.Other.Verifier(t), signing.PredicateSPDX, dro); !errors.Is(err, signing.ErrUntrusted) {
		t.Fatalf("the unknown key's SBOM verifies in production: %v", err)
	}
	for _, k := range []releasetest.Key{f.NonProdKey, f.ProdKey} {
		if _, err := signing.VerifySignature(ctx, dst, k.Verifier(t), dro); err != nil {
			t.Fatalf("signature by %s: %v", k.PublicPath, err)
		}
	}
	for _, pt := range []string{signing.PredicateSPDX, provenance.PredicateType, acceptance.PredicateType} {
		if _, err := signing.VerifyAttestations(ctx, dst, f.NonProdKey.Verifier(t), pt, dro); err != nil {
			t.Fatalf("%s attestation in production: %v", pt, err)
		}
	}
	// The real cosign CLI agrees, on both registries.
	f.CosignVerifyAll(ctx, t, src.String(), []string{f.NonProdKey.PublicPath}, f.NonProdKey.PublicPath)
	f.CosignVerifyAll(ctx, t, dst.String(), []string{f.NonProdKey.PublicPath, f.ProdKey.PublicPath}, f.NonProdKey.PublicPath)
	if out, err := f.CosignVerify(ctx, t, dst.String(), f.Other.PublicPath); err == nil {
		t.Fatalf("cosign verifies the dropped signature in production:\n%s", out)
	}
}

// Point 1 (SBOM) and point 6 (provenance): what must verify before any
// write, and the caller's escapes.
func TestPromoteRequiresSBOMAndProvenance(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	noSBOM := f.publishWith(ctx, "no-sbom", func(o *publish.Options) { o.SkipSBOM = true })
	noProv := f.publishWith(ctx, "no-provenance", func(o *publish.Options) { o.SkipProvenance = true })
	badSBOM := f.publishWith(ctx, "bad-sbom", func(o *publish.Options) { o.SkipSBOM = true })
	if _, err := signing.Attest(ctx, badSBOM, f.NonProdKey.Signer(t), "spdxjson", []byte(`{"spdxVersion":"SPDX-2.3","name":"x"}`), f.srcRO(ctx), false); err != nil {
		t.Fatal(err)
	}
	otherSBOM := f.publishWith(ctx, "sbom-by-other", func(o *publish.Options) { o.SkipSBOM = true })
	good := f.publishWith(ctx, "0123456789abcdef0123456789abcdef01234567", func(o *publish.Options) {
		o.Provenance.BuilderID = "https://dev.azure.com/go-aks/pipeline/_build?definitionId=7"
	})
	{
		stmts, err := signing.VerifyAttestations(ctx, good, f.NonProdKey.Verifier(t), signing.PredicateSPDX, f.srcRO(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signing.Attest(ctx, otherSBOM, f.Other.Signer(t), "spdxjson", stmts[0].Predicate, f.srcRO(ctx), false); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []name.Digest{noSBOM, noProv, badSBOM, otherSBOM, good} {
		f.accept(ctx, d, f.NonProdKey, "staging", acceptance.ResultPassed)
	}
	const builder = "https://dev.azure.com/go-aks/pipeline/_build?definitionId=7"
	tests := []struct {
		name     string
		src      name.Digest
		mutate   func(*Options)
		wantErr  string
		mismatch bool
	}{
		{"no SBOM", noSBOM, nil, "no valid SPDX SBOM attestation", false},
		{"SBOM that is not valid SPDX", badSBOM, nil, "no valid SPDX SBOM attestation", false},
		{"SBOM signed by an unknown key", otherSBOM, nil, "no valid SPDX SBOM attestation", false},
		{"no provenance", noProv, nil, "no SLSA provenance attestation", false},
		{"no provenance, expectations set", noProv, func(o *Options) { o.AllowNoProvenance = true; o.ExpectBuilder = builder }, "no SLSA provenance attestation", false},
		{"other source revision", good, func(o *Options) { o.ExpectSourceRevision = "fedcba9876543210fedcba9876543210fedcba98" }, `source revision "0123456789abcdef0123456789abcdef01234567", expected "fedcba9876543210fedcba9876543210fedcba98"`, true},
		{"other builder", good, func(o *Options) { o.ExpectBuilder = "https://example.com/rogue" }, `builder "` + builder + `", expected "https://example.com/rogue"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Prod.Proxy.Reset()
			o := f.options(tt.src)
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			_, err := Promote(ctx, o)
			if !errors.Is(err, signing.ErrUntrusted) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v; want an ErrUntrusted refusal containing %q", err, tt.wantErr)
			}
			if errors.Is(err, provenance.ErrMismatch) != tt.mismatch {
				t.Errorf("errors.Is(err, provenance.ErrMismatch) = %v, want %v", !tt.mismatch, tt.mismatch)
			}
			f.assertProdUntouched(ctx, tt.src)
		})
	}

	t.Run("escapes", func(t *testing.T) {
		o := f.options(noSBOM)
		o.AllowNoSBOM = true
		rec, err := Promote(ctx, o)
		if err != nil || rec.SBOM || !rec.AllowedNoSBOM || rec.Provenance == nil {
			t.Fatalf("--allow-no-sbom: %+v %v", rec, err)
		}
		o = f.options(noProv)
		o.AllowNoProvenance = true
		rec, err = Promote(ctx, o)
		if err != nil || !rec.SBOM || !rec.AllowedNoProvenance || rec.Provenance != nil {
			t.Fatalf("--allow-no-provenance: %+v %v", rec, err)
		}
	})
	t.Run("expected provenance", func(t *testing.T) {
		o := f.options(good)
		o.ExpectBuilder, o.ExpectSourceRevision = builder, "0123456789abcdef0123456789abcdef01234567"
		rec, err := Promote(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Provenance == nil || rec.Provenance.BuilderID != builder || rec.Provenance.SourceRevision != o.ExpectSourceRevision ||
			rec.Provenance.SourceRepository != "https://github.com/go-aks/pipeline" {
			t.Fatalf("record provenance %+v", rec.Provenance)
		}
	})
}

func isSigPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && strings.HasSuffix(r.URL.Path, ".sig")
}

// Point 2: when the production signature cannot be written, no production
// tag exists; a re-run completes the promotion and only then sets the tag.
func TestPromoteTagsOnlyAfterVerifiedSignature(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publishWith(ctx, "tag-last", nil)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)
	o := f.options(src)
	o.Tags = []string{"release-7"}
	tag := f.dstRepo().Tag("release-7")

	f.Prod.Proxy.SetFault(&faultproxy.Fault{Times: -1, Status: http.StatusInternalServerError, Match: isSigPut})
	_, err := Promote(ctx, o)
	f.Prod.Proxy.SetFault(nil)
	if err == nil || !strings.Contains(err.Error(), "write signatures") {
		t.Fatalf("promote with the signature write failing: %v; want it to fail writing signatures", err)
	}
	if f.Prod.Proxy.Stats().Faults == 0 {
		t.Fatal("no signature write was refused: the test proves nothing")
	}
	if _, err := remote.Head(tag, f.dstRO(ctx).Remote...); regclient.StatusCode(err) != http.StatusNotFound {
		t.Fatalf("production tag exists for an image production cannot verify (HEAD: %v)", err)
	}

	rec, err := Promote(ctx, o)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if rec.AlreadyPromoted {
		t.Fatal("re-run says already promoted after a half-done promotion")
	}
	got, err := remote.Head(tag, f.dstRO(ctx).Remote...)
	if err != nil || got.Digest.String() != src.DigestStr() {
		t.Fatalf("production tag after the re-run: %v %v", got, err)
	}
	if _, err := signing.VerifySignature(ctx, f.dstRepo().Digest(src.DigestStr()), f.ProdKey.Verifier(t), f.dstRO(ctx)); err != nil {
		t.Fatal(err)
	}
}

// timedTransport records when each request was sent and how it was answered.
type timedTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	log   []timedRequest
}

type timedRequest struct {
	at     time.Time
	method string
	path   string
	status int
}

func (tt *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := tt.inner.RoundTrip(r)
	st := 0
	if resp != nil {
		st = resp.StatusCode
	}
	tt.mu.Lock()
	tt.log = append(tt.log, timedRequest{at, r.Method, r.URL.Path, st})
	tt.mu.Unlock()
	return resp, err
}

// Point 3: a 429 with Retry-After is retried no earlier than the registry
// asks, and a wait beyond the deadline fails at once, saying so.
func TestPromoteHonoursRetryAfter(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx()
	src := f.publishWith(ctx, "throttled", nil)
	f.accept(ctx, src, f.NonProdKey, "staging", acceptance.ResultPassed)
	isHead := func(r *http.Request) bool { return r.Method == http.MethodHead && faultproxy.IsManifest(r) }

	client := func(tr *timedTransport) *regclient.Client {
		return regclient.New(regclient.Options{
			Credentials: f.Prod.Credentials(), PlainHTTP: true, Transport: tr,
			Backoff:        regclient.Backoff{Initial: 20 * time.Millisecond, Factor: 2, Max: 200 * time.Millisecond, Steps: 4},
			RequestTimeout: 2 * time.Second, CredentialsHint: "test credentials",
		})
	}

	t.Run("waits as asked", func(t *testing.T) {
		tr := &timedTransport{inner: http.DefaultTransport}
		o := f.options(src)
		o.Target = client(tr)
		o.To = repo(t, f.Prod.Host()+"/throttle/wait")
		f.Prod.Proxy.SetFault(&faultproxy.Fault{Times: 1, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}, Match: isHead})
		_, err := Promote(ctx, o)
		f.Prod.Proxy.SetFault(nil)
		if err != nil {
			t.Fatalf("promote through one throttled request: %v", err)
		}
		var throttled *timedRequest
		for i, r := range tr.log {
			if r.status == http.StatusTooManyRequests {
				throttled = &tr.log[i]
				break
			}
		}
		if throttled == nil {
			t.Fatal("no request was throttled: the test proves nothing")
		}
		for _, r := range tr.log {
			if r.path == throttled.path && r.method == throttled.method && r.at.After(throttled.at) {
				if gap := r.at.Sub(throttled.at); gap < 2*time.Second {
					t.Fatalf("retried %s %s %s after the 429; Retry-After asked for 2s", r.method, r.path, gap)
				}
				return
			}
		}
		t.Fatalf("the throttled request %s %s was never retried: %+v", throttled.method, throttled.path, tr.log)
	})

	t.Run("beyond the deadline", func(t *testing.T) {
		tr := &timedTransport{inner: http.DefaultTransport}
		o := f.options(src)
		o.Target = client(tr)
		o.To = repo(t, f.Prod.Host()+"/throttle/deadline")
		short, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		f.Prod.Proxy.Reset()
		f.Prod.Proxy.SetFault(&faultproxy.Fault{Times: -1, Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"3600"}}, Match: isHead})
		_, err := Promote(short, o)
		f.Prod.Proxy.SetFault(nil)
		if !errors.Is(err, regclient.ErrThrottled) || !strings.Contains(err.Error(), "Retry-After 1h0m0s") {
			t.Fatalf("err %v; want ErrThrottled naming the Retry-After", err)
		}
		n := 0
		for _, r := range tr.log {
			if r.status == http.StatusTooManyRequests {
				n++
			}
		}
		// Each throttled request is tried once: the parallel reads of the
		// manifest and the tags, none of them retried.
		if n == 0 || n > 1+len(o.Tags) {
			t.Fatalf("%d throttled answers; want each HEAD tried once: %+v", n, tr.log)
		}
		if w := f.Prod.Proxy.Stats().Writes; w != 0 {
			t.Fatalf("%d writes reached production", w)
		}
	})
}

func repo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
