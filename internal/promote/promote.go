// Package promote copies a signed, accepted image by digest from the
// non-production registry to the production registry: every platform
// manifest, the index, its blobs and its cosign signatures and attestations,
// so the production digest is the non-production digest. It verifies trust
// before writing anything, signs for production, and verifies the result at
// the destination. Promoting an already promoted digest writes nothing and
// transfers no layer data.
package promote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ocimutate "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/signing"
)

// Options of Promote.
type Options struct {
	// From is the non-production digest reference.
	From name.Digest
	// To is the production repository REGISTRY/REPO.
	To name.Repository
	// Source and Target talk to the two registries.
	Source, Target *regclient.Client
	// SourceKey verifies the non-production signature.
	SourceKey *signing.Verifier
	// AcceptanceKey verifies the acceptance attestation; nil: SourceKey.
	AcceptanceKey *signing.Verifier
	// AcceptanceEnvironment the record must name; empty: any.
	AcceptanceEnvironment string
	// AllowUnaccepted promotes without an acceptance record.
	AllowUnaccepted bool
	// Signer is the production key.
	Signer *signing.Signer
	// Tags to set in the production repository (optional).
	Tags []string
	// Now returns the record's time; default time.Now.
	Now func() time.Time
}

// Record is the promotion record.
type Record struct {
	Source        string             `json:"source"`
	Destination   string             `json:"destination"`
	Digest        string             `json:"digest"`
	MediaType     string             `json:"mediaType"`
	Platforms     []string           `json:"platforms,omitempty"`
	Tags          []string           `json:"tags,omitempty"`
	SourceKey     string             `json:"sourceKey"`
	AcceptanceKey string             `json:"acceptanceKey,omitempty"`
	ProductionKey string             `json:"productionKey"`
	Acceptance    *acceptance.Record `json:"acceptance,omitempty"`
	// AllowedUnaccepted is true when promoted without an acceptance record.
	AllowedUnaccepted bool `json:"allowedUnaccepted,omitempty"`
	// AlreadyPromoted is true when the digest was already complete at the
	// destination (nothing was copied).
	AlreadyPromoted bool `json:"alreadyPromoted"`
	// SignedForProduction is false when a production signature was already
	// there.
	SignedForProduction bool      `json:"signedForProduction"`
	Time                time.Time `json:"time"`
}

// Promote runs the promotion. On a trust failure (errors.Is(err,
// signing.ErrUntrusted)) nothing was written to the destination.
func Promote(ctx context.Context, o Options) (Record, error) {
	if o.Source == nil || o.Target == nil || o.SourceKey == nil || o.Signer == nil {
		return Record{}, errors.New("promote: Source, Target, SourceKey and Signer are required")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	accKey := o.AcceptanceKey
	if accKey == nil {
		accKey = o.SourceKey
	}
	src := o.From
	srcReg := src.RegistryStr()
	dstReg := o.To.RegistryStr()
	dst := o.To.Digest(src.DigestStr())
	srcOpts := o.Source.Remote(ctx)
	dstOpts := o.Target.Remote(ctx)
	srcRO := signing.RegistryOptions{Remote: srcOpts, Name: o.Source.NameOptions()}
	dstRO := signing.RegistryOptions{Remote: dstOpts, Name: o.Target.NameOptions()}

	rec := Record{
		Source: src.String(), Destination: dst.String(), Digest: src.DigestStr(),
		SourceKey: o.SourceKey.Identity(), ProductionKey: o.Signer.Identity(), Tags: o.Tags,
	}
	var tags []name.Tag
	for _, t := range o.Tags {
		tag, err := name.NewTag(o.To.String()+":"+t, append([]name.Option{name.StrictValidation}, o.Target.NameOptions()...)...)
		if err != nil {
			return Record{}, fmt.Errorf("promote: --tag %q is not a valid tag: %w", t, err)
		}
		tags = append(tags, tag)
	}

	// 1. The reference must resolve; the registry's answer is checked
	//    against the digest by go-containerregistry.
	desc, err := remote.Get(src, srcOpts...)
	if err != nil {
		return Record{}, o.Source.Explain(err, "promote: resolve "+src.String(), srcReg)
	}
	if desc.Digest.String() != src.DigestStr() {
		return Record{}, fmt.Errorf("promote: registry %s answered %s for %s: %w", srcReg, desc.Digest, src, signing.ErrUntrusted)
	}
	rec.MediaType = string(desc.MediaType)

	// 2. Trust before any write: the non-production signature...
	if _, err := signing.VerifySignature(ctx, src, o.SourceKey, srcRO); err != nil {
		if errors.Is(err, signing.ErrUntrusted) {
			return Record{}, fmt.Errorf("promote: refusing %s: nothing written to %s: %w", src, dstReg, err)
		}
		return Record{}, o.Source.Explain(err, "promote: verify signature", srcReg)
	}
	// ...and the acceptance record.
	if o.AllowUnaccepted {
		rec.AllowedUnaccepted = true
	} else {
		rec.AcceptanceKey = accKey.Identity()
		acc, err := AcceptedRecord(ctx, src, accKey, o.AcceptanceEnvironment, srcRO)
		if err != nil {
			if errors.Is(err, signing.ErrUntrusted) {
				return Record{}, fmt.Errorf("promote: refusing %s (no passing acceptance record; run `release attest-acceptance` after the acceptance suite passes, or pass --allow-unaccepted): nothing written to %s: %w", src, dstReg, err)
			}
			return Record{}, o.Source.Explain(err, "promote: verify acceptance attestation", srcReg)
		}
		rec.Acceptance = &acc
	}

	// 3. Copy by digest. go-containerregistry checks what the destination
	//    already has (HEAD) and uploads only missing blobs and manifests.
	if _, err := remote.Head(dst, dstOpts...); err == nil {
		rec.AlreadyPromoted = true
	} else if code := regclient.StatusCode(err); code != 404 {
		return Record{}, o.Target.Explain(err, "promote: check "+dst.String(), dstReg)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return Record{}, o.Source.Explain(err, "promote: read index "+src.String(), srcReg)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return Record{}, o.Source.Explain(err, "promote: read index "+src.String(), srcReg)
		}
		for _, m := range im.Manifests {
			if m.Platform != nil {
				rec.Platforms = append(rec.Platforms, m.Platform.String())
			}
		}
		if err := remote.WriteIndex(dst, idx, dstOpts...); err != nil {
			return Record{}, o.Target.Explain(err, "promote: copy index to "+dst.String(), dstReg)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return Record{}, o.Source.Explain(err, "promote: read image "+src.String(), srcReg)
		}
		if err := remote.Write(dst, img, dstOpts...); err != nil {
			return Record{}, o.Target.Explain(err, "promote: copy image to "+dst.String(), dstReg)
		}
	}

	// 4. Signatures and attestations, merged into what the destination has.
	for _, kind := range []string{"signatures", "attestations"} {
		changed, err := copyAttached(kind, src, dst, srcRO, dstRO)
		if err != nil {
			return Record{}, o.Target.Explain(err, "promote: copy "+kind+" to "+dst.String(), dstReg)
		}
		if changed {
			rec.AlreadyPromoted = false
		}
	}
	for _, tag := range tags {
		if err := remote.Tag(tag, desc, dstOpts...); err != nil {
			return Record{}, o.Target.Explain(err, "promote: tag "+tag.String(), dstReg)
		}
	}

	// 5. Sign for production (skipped when already signed by this key).
	rec.SignedForProduction, err = signing.Sign(ctx, dst, o.Signer, dstRO)
	if err != nil {
		return Record{}, o.Target.Explain(err, "promote: sign for production", dstReg)
	}
	if rec.SignedForProduction {
		rec.AlreadyPromoted = false
	}

	// 6. Verify at the destination what production will rely on.
	got, err := remote.Head(dst, dstOpts...)
	if err != nil {
		return Record{}, o.Target.Explain(err, "promote: verify "+dst.String(), dstReg)
	}
	if got.Digest.String() != src.DigestStr() {
		return Record{}, fmt.Errorf("promote: %s serves digest %s, want %s", dst, got.Digest, src.DigestStr())
	}
	if _, err := signing.VerifySignature(ctx, dst, o.Signer.Verifier(), dstRO); err != nil {
		return Record{}, fmt.Errorf("promote: production signature does not verify at the destination: %w", err)
	}
	if _, err := signing.VerifySignature(ctx, dst, o.SourceKey, dstRO); err != nil {
		return Record{}, fmt.Errorf("promote: copied non-production signature does not verify at the destination: %w", err)
	}
	if !o.AllowUnaccepted {
		if _, err := AcceptedRecord(ctx, dst, accKey, o.AcceptanceEnvironment, dstRO); err != nil {
			return Record{}, fmt.Errorf("promote: copied acceptance attestation does not verify at the destination: %w", err)
		}
	}
	rec.Time = now().UTC()
	return rec, nil
}

// acceptedRecord returns the newest passing acceptance record of d signed
// with key.
func AcceptedRecord(ctx context.Context, d name.Digest, key *signing.Verifier, env string, ro signing.RegistryOptions) (acceptance.Record, error) {
	stmts, err := signing.VerifyAttestations(ctx, d, key, acceptance.PredicateType, ro)
	if err != nil {
		return acceptance.Record{}, err
	}
	var best *acceptance.Record
	var reasons []error
	for _, st := range stmts {
		r, err := acceptance.Parse(st.Predicate)
		if err != nil {
			reasons = append(reasons, err)
			continue
		}
		if err := r.Accepts(env); err != nil {
			reasons = append(reasons, err)
			continue
		}
		if best == nil || r.Time.After(best.Time) {
			best = &r
		}
	}
	if best == nil {
		return acceptance.Record{}, fmt.Errorf("no acceptance record of %s accepts it: %w: %w", d, errors.Join(reasons...), signing.ErrUntrusted)
	}
	return *best, nil
}

// copyAttached merges src's signatures or attestations into dst's: when dst
// has none, src's manifest is copied as it is (same digest); otherwise the
// layers dst lacks are appended. It reports whether it wrote anything.
func copyAttached(kind string, src, dst name.Digest, srcRO, dstRO signing.RegistryOptions) (bool, error) {
	tagFn := ociremote.SignatureTag
	if kind == "attestations" {
		tagFn = ociremote.AttestationTag
	}
	srcTag, err := tagFn(src, ociremote.WithRemoteOptions(srcRO.Remote...), ociremote.WithNameOptions(srcRO.Name...))
	if err != nil {
		return false, err
	}
	dstTag, err := tagFn(dst, ociremote.WithRemoteOptions(dstRO.Remote...), ociremote.WithNameOptions(dstRO.Name...))
	if err != nil {
		return false, err
	}
	srcSigs, err := ociremote.Signatures(srcTag, ociremote.WithRemoteOptions(srcRO.Remote...))
	if err != nil {
		return false, fmt.Errorf("read source %s %s: %w", kind, srcTag, err)
	}
	srcList, err := srcSigs.Get()
	if err != nil {
		return false, fmt.Errorf("read source %s %s: %w", kind, srcTag, err)
	}
	if len(srcList) == 0 {
		return false, nil
	}
	dstSigs, err := ociremote.Signatures(dstTag, ociremote.WithRemoteOptions(dstRO.Remote...))
	if err != nil {
		return false, fmt.Errorf("read destination %s %s: %w", kind, dstTag, err)
	}
	dstList, err := dstSigs.Get()
	if err != nil {
		return false, fmt.Errorf("read destination %s %s: %w", kind, dstTag, err)
	}
	if len(dstList) == 0 {
		if err := remote.Write(dstTag, srcSigs, dstRO.Remote...); err != nil {
			return false, err
		}
		return true, nil
	}
	have := map[v1.Hash]bool{}
	for _, s := range dstList {
		h, err := s.Digest()
		if err != nil {
			return false, err
		}
		have[h] = true
	}
	var missing []oci.Signature
	for _, s := range srcList {
		h, err := s.Digest()
		if err != nil {
			return false, err
		}
		if !have[h] {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	merged, err := ocimutate.AppendSignatures(dstSigs, false, missing...)
	if err != nil {
		return false, err
	}
	if err := remote.Write(dstTag, merged, dstRO.Remote...); err != nil {
		return false, err
	}
	return true, nil
}
