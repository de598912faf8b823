//go:build integration

package publish

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/sbom"
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
	if _, err := signing.VerifySignature(ctx, d, env.Other.Verifier(t), ro); err == nil {
		t.Fatal("signature verifies with an unrelated key")
	}
	stmts, err := signing.VerifyAttestations(ctx, d, env.NonProdKey.Verifier(t), signing.PredicateSPDX, ro)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("SBOM attestation: %d %v", len(stmts), err)
	}
	var doc sbom.Document
	if err := json.Unmarshal(stmts[0].Predicate, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range doc.Packages {
		names = append(names, p.Name)
	}
	joined := strings.Join(names, " ")
	for _, w := range []string{"/app/orders", "golang.org/x/crypto", "stdlib"} {
		if !strings.Contains(joined, w) {
			t.Errorf("SBOM packages %v lack %q", names, w)
		}
	}
	if doc.SPDXVersion != "SPDX-2.3" || !strings.Contains(doc.Name, want.String()) {
		t.Errorf("SBOM header %s %s", doc.SPDXVersion, doc.Name)
	}

	// Publishing the same source again: same digest, nothing new written.
	env.NonProd.Proxy.Reset()
	second, err := Publish(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Ref != first.Ref || second.Signed || second.SBOMAttested {
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
