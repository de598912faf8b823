package signing

import (
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
)

// Artifact types of the OCI 1.1 referrers cosign writes: a signature
// (`cosign sign --registry-referrers-mode=oci-1-1`, one simple-signing
// layer) and attestations (DSSE envelopes of in-toto statements).
const (
	ReferrerSignature   = "application/vnd.dev.cosign.artifact.sig.v1+json"
	ReferrerAttestation = ctypes.IntotoPayloadType
)

// Referrer is an OCI 1.1 referrer of an image digest: a manifest whose
// subject is that digest.
type Referrer struct {
	// Digest of the referrer's manifest, in the subject's repository.
	Digest v1.Hash
	// ArtifactType as the manifest gives it: its artifactType, else its
	// config's media type (the OCI 1.1 rule; registries' lists differ).
	ArtifactType string
	// Kind is Signatures or Attestations for cosign's artifact types, ""
	// for anything else (its content is not read).
	Kind Kind
	// Layers, with their content for cosign's artifact types.
	Layers []Attached
	// Image is the referrer as the registry serves it, for copying it
	// unchanged (same manifest, same digest).
	Image v1.Image
}

// FetchReferrers lists d's OCI 1.1 referrers — through the registry's
// referrers API where it has one, the referrers tag schema
// (REPO:sha256-<hex>) otherwise, as go-containerregistry does — and reads
// the manifest of each and the content of those in cosign's formats,
// checked against their digests. A listed manifest whose subject is not d
// is an error: the list is not the registry's own.
func FetchReferrers(ctx context.Context, d name.Digest, opts ...remote.Option) ([]Referrer, error) {
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	im, err := listReferrers(d, opts)
	if err != nil {
		return nil, err
	}
	refs := make([]Referrer, len(im.Manifests))
	errs := make([]error, len(im.Manifests))
	var wg sync.WaitGroup
	for i, desc := range im.Manifests {
		wg.Go(func() { refs[i], errs[i] = fetchReferrer(ctx, d, desc, opts) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return refs, nil
}

func fetchReferrer(ctx context.Context, d name.Digest, desc v1.Descriptor, opts []remote.Option) (Referrer, error) {
	r := Referrer{Digest: desc.Digest}
	ref := d.Context().Digest(desc.Digest.String())
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return Referrer{}, fmt.Errorf("read referrer %s: %w", ref, err)
	}
	m, err := img.Manifest() // checked against the digest
	if err != nil {
		return Referrer{}, fmt.Errorf("read referrer %s: not an image manifest: %w", ref, err)
	}
	if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() {
		return Referrer{}, fmt.Errorf("referrer %s is listed for %s but its subject is %v", ref, d.DigestStr(), m.Subject)
	}
	r.Image = img
	r.ArtifactType = m.ArtifactType
	if r.ArtifactType == "" {
		r.ArtifactType = string(m.Config.MediaType)
	}
	r.Layers = make([]Attached, len(m.Layers))
	for i, l := range m.Layers {
		r.Layers[i].Desc = l
	}
	switch r.ArtifactType {
	case ReferrerSignature:
		r.Kind = Signatures
	case ReferrerAttestation:
		r.Kind = Attestations
	default:
		return r, nil
	}
	if err := fetchPayloads(ctx, d.Context(), "referrer "+ref.String(), r.Layers, opts); err != nil {
		return Referrer{}, err
	}
	return r, nil
}

// ReferrerDigests lists the digests of d's OCI referrers, as
// FetchReferrers finds them, without reading them.
func ReferrerDigests(ctx context.Context, d name.Digest, opts ...remote.Option) (map[v1.Hash]bool, error) {
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	im, err := listReferrers(d, opts)
	if err != nil {
		return nil, err
	}
	have := make(map[v1.Hash]bool, len(im.Manifests))
	for _, m := range im.Manifests {
		have[m.Digest] = true
	}
	return have, nil
}

func listReferrers(d name.Digest, opts []remote.Option) (*v1.IndexManifest, error) {
	idx, err := remote.Referrers(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("list OCI referrers of %s: %w", d, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("list OCI referrers of %s: %w", d, err)
	}
	return im, nil
}
