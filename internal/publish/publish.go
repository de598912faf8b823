// Package publish pushes a multi-platform image from an OCI layout to a
// registry, tags it, signs its digest and attaches a signed SPDX SBOM
// attestation and a signed SLSA v1 provenance attestation. Publishing the same layout again yields the same digest and
// writes nothing new.
package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/sbom"
	"github.com/go-aks/pipeline/internal/signing"
)

// Options of Publish.
type Options struct {
	// Index is the image to publish (see imagebuild.ReadLayout).
	Index v1.ImageIndex
	// Repository is REGISTRY/REPO.
	Repository name.Repository
	// Tags to set on the digest (for example the git revision).
	Tags []string
	// Registry talks to the repository's registry.
	Registry *regclient.Client
	// Signer signs the digest and the SBOM attestation.
	Signer *signing.Signer
	// SkipSBOM skips the SBOM attestation.
	SkipSBOM bool
	// Provenance describes the build for the SLSA provenance attestation;
	// its source repository and revision default to the image's
	// org.opencontainers.image.source/revision annotations and its
	// binaries are read from the image.
	Provenance provenance.Inputs
	// SkipProvenance skips the provenance attestation.
	SkipProvenance bool
}

// Result of Publish.
type Result struct {
	// Ref is REGISTRY/REPO@sha256:...: what every later stage takes.
	Ref       string   `json:"ref"`
	Digest    string   `json:"digest"`
	Tags      []string `json:"tags"`
	Platforms []string `json:"platforms"`
	// Signed and SBOMAttested report whether this run wrote them (false when
	// they were already there from an earlier run).
	Signed             bool   `json:"signed"`
	SBOMAttested       bool   `json:"sbomAttested"`
	ProvenanceAttested bool   `json:"provenanceAttested"`
	SignerKey          string `json:"signerKey"`
}

// Publish pushes, tags, signs and attests. Nothing is signed until every
// manifest and blob is in the registry.
func Publish(ctx context.Context, o Options) (Result, error) {
	if o.Index == nil || o.Registry == nil || o.Signer == nil {
		return Result{}, errors.New("publish: Index, Registry and Signer are required")
	}
	reg := o.Repository.RegistryStr()
	var tags []name.Tag
	for _, t := range o.Tags {
		tag, err := name.NewTag(o.Repository.String()+":"+t, append([]name.Option{name.StrictValidation}, o.Registry.NameOptions()...)...)
		if err != nil {
			return Result{}, fmt.Errorf("publish: --tag %q is not a valid tag (letters, digits, _ . -, at most 128): %w", t, err)
		}
		tags = append(tags, tag)
	}
	d, err := o.Index.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("publish: index digest: %w", err)
	}
	im, err := o.Index.IndexManifest()
	if err != nil {
		return Result{}, fmt.Errorf("publish: index manifest: %w", err)
	}
	res := Result{Digest: d.String(), Tags: o.Tags, SignerKey: o.Signer.Identity()}
	for _, m := range im.Manifests {
		if m.Platform != nil {
			res.Platforms = append(res.Platforms, m.Platform.String())
		}
	}
	// Build the SBOM before writing anything: a layout without Go build
	// information fails here, not half-published.
	var sbomDoc []byte
	if !o.SkipSBOM {
		created := time.Unix(0, 0)
		if c, err := time.Parse(time.RFC3339, im.Annotations[imagebuild.LabelCreated]); err == nil {
			created = c
		}
		sbomDoc, err = sbom.FromIndex(ctx, o.Index, o.Repository.String(), created)
		if err != nil {
			return Result{}, fmt.Errorf("publish: %w", err)
		}
	}
	var provDoc []byte
	if !o.SkipProvenance {
		in := o.Provenance
		if in.SourceRepository == "" {
			in.SourceRepository = im.Annotations[imagebuild.LabelSource]
		}
		if in.SourceRevision == "" {
			in.SourceRevision = im.Annotations[imagebuild.LabelRevision]
		}
		if in.Binaries == nil {
			in.Binaries, err = sbom.IndexBinaries(ctx, o.Index)
			if err != nil {
				return Result{}, fmt.Errorf("publish: %w", err)
			}
		}
		provDoc, err = provenance.Build(in)
		if err != nil {
			return Result{}, fmt.Errorf("publish: %w", err)
		}
	}

	ref := o.Repository.Digest(d.String())
	res.Ref = ref.String()
	ropts := o.Registry.Remote(ctx)
	if err := remote.WriteIndex(ref, o.Index, ropts...); err != nil {
		return Result{}, o.Registry.Explain(err, "publish: push "+ref.String(), reg)
	}
	for _, tag := range tags {
		if err := remote.Tag(tag, o.Index, ropts...); err != nil {
			return Result{}, o.Registry.Explain(err, "publish: tag "+tag.String(), reg)
		}
	}
	ro := signing.RegistryOptions{Remote: ropts, Name: o.Registry.NameOptions()}
	res.Signed, err = signing.Sign(ctx, ref, o.Signer, ro)
	if err != nil {
		return Result{}, o.Registry.Explain(err, "publish: sign", reg)
	}
	if !o.SkipSBOM {
		res.SBOMAttested, err = signing.Attest(ctx, ref, o.Signer, "spdxjson", sbomDoc, ro, true)
		if err != nil {
			return Result{}, o.Registry.Explain(err, "publish: attach SBOM attestation", reg)
		}
	}
	if !o.SkipProvenance {
		res.ProvenanceAttested, err = signing.Attest(ctx, ref, o.Signer, "slsaprovenance1", provDoc, ro, true)
		if err != nil {
			return Result{}, o.Registry.Explain(err, "publish: attach provenance attestation", reg)
		}
	}
	if _, err := signing.VerifySignature(ctx, ref, o.Signer.Verifier(), ro); err != nil {
		return Result{}, fmt.Errorf("publish: signature written but does not verify: %w", err)
	}
	return res, nil
}
