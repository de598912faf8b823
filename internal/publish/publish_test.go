//go:build integration

package publish

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"

	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/signing"
)

func TestMain(m *testing.M) { releasetest.Main(m) }

func TestPublishRejectsBadTag(t *testing.T) {
	env := releasetest.Start(t)
	repo, err := name.NewRepository(env.NonProd.Host()+"/orders", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Publish(t.Context(), Options{
		Index: releasetest.SampleIndex(t.Context(), t, "r1"), Repository: repo, Tags: []string{"bad tag"},
		Registry: env.NonProd.Client(nil), Signer: env.NonProdKey.Signer(t),
	})
	if err == nil || !strings.Contains(err.Error(), `--tag "bad tag"`) {
		t.Fatalf("error %v; want it to name the bad --tag", err)
	}
	if w := env.NonProd.Proxy.Stats().Writes; w != 0 {
		t.Fatalf("%d writes reached the registry; want none", w)
	}
}

func TestPublishSignsAttestsAndIsIdempotent(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	env := releasetest.Start(t)
	repo, err := name.NewRepository(env.NonProd.Host()+"/team/orders", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx := releasetest.SampleIndex(ctx, t, "abc123")
	want, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	client := env.NonProd.Client(nil)
	signer := env.NonProdKey.Signer(t)
	opts := Options{Index: idx, Repository: repo, Tags: []string{"abc123", "latest"}, Registry: client, Signer: signer}

	first, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Ref != repo.String()+"@"+want.String() || !first.Signed || !first.SBOMAttested {
		t.Fatalf("first publish: %+v", first)
	}
	if len(first.Platforms) != 2 {
		t.Fatalf("platforms %v", first.Platforms)
	}
	ro := signing.RegistryOptions{Remote: client.Remote(ctx), Name: client.NameOptions()}
	d, err := name.NewDigest(first.Ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range opts.Tags {
		desc, err := remote.Head(repo.Tag(tag), ro.Remote...)
		if err != nil || desc.Digest != want {
			t.Fatalf("tag %s: %v %v", tag, desc, err)
		}
	}
	if n, err := signing.VerifySignature(ctx, d, env.NonProdKey.Verifier(t), ro); err != nil || n != 1 {
		t.Fatalf("verify: %d %v", n, err)
	}
	if _, err := signing.VerifySignature(ctx, d, env.Other.Verifier(t), ro); !errors.Is(err, signing.ErrUntrusted) || !strings.Contains(err.Error(), "does not verify with key "+env.Other.Verifier(t).Identity()) {
		t.Fatalf("verify with an unrelated key: %v; want ErrUntrusted naming that key", err)
	}
	stmts, err := signing.VerifyAttestations(ctx, d, env.NonProdKey.Verifier(t), signing.PredicateSPDX, ro)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("SBOM attestation: %d %v", len(stmts), err)
	}
	// The SBOM is read and validated by spdx/tools-golang.
	doc, err := spdxjson.Read(bytes.NewReader(stmts[0].Predicate))
	if err != nil {
		t.Fatalf("SBOM is not SPDX JSON: %v", err)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		t.Fatalf("SBOM does not validate: %v", err)
	}
	var names []string
	for _, p := range doc.Packages {
		names = append(names, p.PackageName)
	}
	joined := strings.Join(names, " ")
	for _, w := range []string{"/app/orders", "golang.org/x/crypto", "stdlib"} {
		if !strings.Contains(joined, w) {
			t.Errorf("SBOM packages %v lack %q", names, w)
		}
	}
	if doc.SPDXVersion != "SPDX-2.3" || !strings.Contains(doc.DocumentName, want.String()) {
		t.Errorf("SBOM header %s %s", doc.SPDXVersion, doc.DocumentName)
	}
	// The SLSA provenance names the source and the resolved toolchain.
	provs, err := signing.VerifyAttestations(ctx, d, env.NonProdKey.Verifier(t), provenance.PredicateType, ro)
	if err != nil || len(provs) != 1 || !first.ProvenanceAttested {
		t.Fatalf("provenance attestation: %d %v (attested %v)", len(provs), err, first.ProvenanceAttested)
	}
	sum, err := provenance.Parse(provs[0].Predicate)
	if err != nil || sum.SourceRevision != "abc123" || sum.SourceRepository != "https://github.com/go-aks/pipeline" || sum.BuilderID != provenance.DefaultBuilderID {
		t.Fatalf("provenance %+v %v", sum, err)
	}
	if !strings.Contains(string(provs[0].Predicate), "pkg:golang/stdlib@go") || !strings.Contains(string(provs[0].Predicate), "pkg:golang/golang.org/x/crypto@") {
		t.Errorf("provenance lacks the resolved toolchain or modules: %s", provs[0].Predicate)
	}
	env.CosignVerifyAll(ctx, t, d.String(), []string{env.NonProdKey.PublicPath}, env.NonProdKey.PublicPath, "spdxjson", "slsaprovenance1")

	// Publishing the same source again: same digest, nothing new written.
	env.NonProd.Proxy.Reset()
	second, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Ref != first.Ref || second.Signed || second.SBOMAttested || second.ProvenanceAttested {
		t.Fatalf("second publish: %+v", second)
	}
	st := env.NonProd.Proxy.Stats()
	if st.BlobUploadBytes != 0 || st.BlobUploads != 0 {
		t.Fatalf("second publish uploaded %d blobs, %d bytes; want none", st.BlobUploads, st.BlobUploadBytes)
	}
	if n, err := signing.VerifySignature(ctx, d, env.NonProdKey.Verifier(t), ro); err != nil || n != 1 {
		t.Fatalf("after second publish: %d signatures, %v; want exactly 1", n, err)
	}
}
