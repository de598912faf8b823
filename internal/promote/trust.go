package promote

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/sbom"
	"github.com/go-aks/pipeline/internal/signing"
)

// verifiedAtt is an attestation layer that verified, with its statement,
// the key it verified with and, when it came as an OCI referrer, which.
type verifiedAtt struct {
	layer signing.Attached
	st    signing.Statement
	key   *signing.Verifier
	ref   *signing.Referrer
}

// trusted is what of the source's attachments production may receive.
type trusted struct {
	// sigs and atts are the tag-schema (.sig, .att) layers to carry.
	sigs []signing.Attached
	atts []verifiedAtt
	// refs are the OCI referrers to copy unchanged; refSigs the signature
	// layers among them.
	refs       []*signing.Referrer
	refSigs    []signing.Attached
	dropped    []Dropped
	acceptance *acceptance.Record
	sbom       bool
	provenance *provenance.Summary
}

func drop(t *trusted, kind string, a signing.Attached, err error) {
	t.dropped = append(t.dropped, Dropped{Kind: kind, Digest: a.Desc.Digest.String(), Reason: err.Error()})
}

func dropReferrer(t *trusted, r *signing.Referrer, err error) {
	t.dropped = append(t.dropped, Dropped{Kind: "referrer", Digest: r.Digest.String(), Reason: err.Error()})
}

// verifyAttestation returns the layer verified with the first of keys it
// verifies with.
func verifyAttestation(ctx context.Context, h v1.Hash, a signing.Attached, keys []*signing.Verifier) (verifiedAtt, error) {
	var errs []error
	for _, k := range keys {
		st, err := signing.VerifyAttestationLayer(ctx, a, h, k)
		if err == nil {
			return verifiedAtt{layer: a, st: st, key: k}, nil
		}
		errs = append(errs, err)
	}
	return verifiedAtt{}, errors.Join(errs...)
}

// sortTrust keeps the signatures that verify with the source key and the
// attestations that verify with a trusted key (source or acceptance key),
// from the tag schema and from OCI referrers alike; everything else is
// dropped with its reason. A referrer is kept whole or dropped whole (it is
// copied unchanged): every layer must verify, and a referrer of another
// artifact type is dropped, since no trusted key can vouch for it.
func sortTrust(ctx context.Context, h v1.Hash, sigs, atts []signing.Attached, refs []signing.Referrer, srcKey, accKey *signing.Verifier) trusted {
	var t trusted
	for _, a := range sigs {
		if err := signing.VerifySignatureLayer(ctx, a, h, srcKey); err != nil {
			drop(&t, "signature", a, err)
			continue
		}
		t.sigs = append(t.sigs, a)
	}
	keys := []*signing.Verifier{srcKey}
	if accKey.Identity() != srcKey.Identity() {
		keys = append(keys, accKey)
	}
	for _, a := range atts {
		va, err := verifyAttestation(ctx, h, a, keys)
		if err != nil {
			drop(&t, "attestation", a, err)
			continue
		}
		t.atts = append(t.atts, va)
	}
	for i := range refs {
		r := &refs[i]
		if err := sortReferrer(ctx, &t, h, r, srcKey, keys); err != nil {
			dropReferrer(&t, r, err)
		}
	}
	return t
}

// sortReferrer adds r to t when every layer of it verifies.
func sortReferrer(ctx context.Context, t *trusted, h v1.Hash, r *signing.Referrer, srcKey *signing.Verifier, keys []*signing.Verifier) error {
	if len(r.Layers) == 0 {
		return fmt.Errorf("referrer of artifact type %q has no layers", r.ArtifactType)
	}
	switch r.Kind {
	case signing.Signatures:
		for _, a := range r.Layers {
			if err := signing.VerifySignatureLayer(ctx, a, h, srcKey); err != nil {
				return err
			}
		}
		t.refs = append(t.refs, r)
		t.refSigs = append(t.refSigs, r.Layers...)
	case signing.Attestations:
		vas := make([]verifiedAtt, 0, len(r.Layers))
		for _, a := range r.Layers {
			va, err := verifyAttestation(ctx, h, a, keys)
			if err != nil {
				return err
			}
			va.ref = r
			vas = append(vas, va)
		}
		t.refs = append(t.refs, r)
		t.atts = append(t.atts, vas...)
	default:
		for _, a := range r.Layers {
			if err := signing.RefuseKeyless(a.Desc); err != nil {
				return err
			}
		}
		if err := signing.RefuseKeyless(v1.Descriptor{Digest: r.Digest, ArtifactType: r.ArtifactType}); err != nil {
			return err
		}
		return fmt.Errorf("referrer of artifact type %q is neither a cosign signature (%s) nor a cosign attestation (%s): no trusted key can vouch for it: %w",
			r.ArtifactType, signing.ReferrerSignature, signing.ReferrerAttestation, signing.ErrUntrusted)
	}
	return nil
}

// decide applies the promotion policy to the trusted attachments: a source
// signature, a passing acceptance record (unless allowed without), a valid
// SBOM and a matching provenance (unless allowed without). Attestations
// whose content is invalid are dropped too. Refusals wrap
// signing.ErrUntrusted.
func decide(t *trusted, src name.Digest, o Options, accKey *signing.Verifier) error {
	if len(t.sigs) == 0 && len(t.refSigs) == 0 {
		var reasons []error
		for _, d := range t.dropped {
			if d.Kind == "signature" || d.Kind == "referrer" {
				reasons = append(reasons, errors.New(d.Reason))
			}
		}
		if len(reasons) == 0 {
			reasons = append(reasons, errors.New("no signatures found"))
		}
		return fmt.Errorf("signature of %s does not verify with key %s: %w: %w", src, o.SourceKey.Identity(), errors.Join(reasons...), signing.ErrUntrusted)
	}
	// First what each attestation says, and which are invalid; then the
	// facts of those carried: a referrer with an invalid layer goes whole,
	// and what it says does not count.
	verdicts := make([]attVerdict, len(t.atts))
	droppedRefs := map[*signing.Referrer]bool{}
	for i, va := range t.atts {
		verdicts[i] = judge(va, o, accKey)
		if err := verdicts[i].invalid; err != nil {
			if va.ref == nil {
				drop(t, "attestation", va.layer, err)
			} else if !droppedRefs[va.ref] {
				droppedRefs[va.ref] = true
				dropReferrer(t, va.ref, err)
			}
		}
	}
	var keep []verifiedAtt
	var accReasons, provReasons []error
	var best *acceptance.Record
	for i, va := range t.atts {
		v := verdicts[i]
		if v.provReason != nil {
			provReasons = append(provReasons, v.provReason)
		}
		if v.invalid != nil || (va.ref != nil && droppedRefs[va.ref]) {
			continue
		}
		if v.accReason != nil {
			accReasons = append(accReasons, v.accReason)
		}
		if v.accepted != nil && (best == nil || v.accepted.Time.After(best.Time)) {
			best = v.accepted
		}
		t.sbom = t.sbom || v.sbom
		if v.provenance != nil {
			t.provenance = v.provenance
		}
		keep = append(keep, va)
	}
	t.atts = keep
	refs := t.refs[:0]
	for _, r := range t.refs {
		if !droppedRefs[r] {
			refs = append(refs, r)
		}
	}
	t.refs = refs
	if !o.AllowUnaccepted {
		if best == nil {
			if len(accReasons) == 0 {
				accReasons = append(accReasons, errors.New("none verifies with the acceptance key "+accKey.Identity()))
			}
			return fmt.Errorf("no passing acceptance record (run `release attest-acceptance` after the acceptance suite passes, or pass --allow-unaccepted): no acceptance record of %s accepts it: %w: %w", src, errors.Join(accReasons...), signing.ErrUntrusted)
		}
		t.acceptance = best
	}
	if !t.sbom && !o.AllowNoSBOM {
		return fmt.Errorf("no valid SPDX SBOM attestation of %s signed with key %s (publish attaches one; pass --allow-no-sbom to promote without): %w", src, o.SourceKey.Identity(), signing.ErrUntrusted)
	}
	if t.provenance == nil && len(provReasons) > 0 {
		return fmt.Errorf("provenance of %s: %w: %w", src, errors.Join(provReasons...), signing.ErrUntrusted)
	}
	if t.provenance == nil && (!o.AllowNoProvenance || o.ExpectBuilder != "" || o.ExpectSourceRevision != "") {
		return fmt.Errorf("no SLSA provenance attestation of %s signed with key %s (publish attaches one; pass --allow-no-provenance to promote without): %w", src, o.SourceKey.Identity(), signing.ErrUntrusted)
	}
	return nil
}

// attVerdict is what one verified attestation means for the policy.
type attVerdict struct {
	// invalid: its content is not what its type promises, or its
	// provenance differs from what is expected; it is dropped.
	invalid error
	// accepted is a passing acceptance record signed with the acceptance
	// key; accReason why an acceptance record does not count.
	accepted  *acceptance.Record
	accReason error
	// sbom: a valid SPDX SBOM signed with the source key.
	sbom bool
	// provenance: a matching SLSA provenance signed with the source key;
	// provReason why one does not match.
	provenance *provenance.Summary
	provReason error
}

func judge(va verifiedAtt, o Options, accKey *signing.Verifier) attVerdict {
	var v attVerdict
	switch va.st.PredicateType {
	case acceptance.PredicateType:
		r, err := acceptance.Parse(va.st.Predicate)
		switch {
		case err != nil:
			v.invalid = err
		case va.key.Identity() != accKey.Identity():
			v.accReason = fmt.Errorf("acceptance record signed with %s, not the acceptance key %s", va.key.Identity(), accKey.Identity())
		default:
			if err := r.Accepts(o.AcceptanceEnvironment); err != nil {
				v.accReason = err
			} else {
				v.accepted = &r
			}
		}
	case signing.PredicateSPDX:
		if va.key.Identity() != o.SourceKey.Identity() {
			break
		}
		if _, err := sbom.Parse(va.st.Predicate); err != nil {
			v.invalid = err
		} else {
			v.sbom = true
		}
	case provenance.PredicateType:
		if va.key.Identity() != o.SourceKey.Identity() {
			break
		}
		sum, err := provenance.Parse(va.st.Predicate)
		if err != nil {
			v.invalid = err
			break
		}
		if err := sum.Check(o.ExpectBuilder, o.ExpectSourceRevision); err != nil {
			v.invalid, v.provReason = err, err
			break
		}
		v.provenance = &sum
	}
	return v
}
