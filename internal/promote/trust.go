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

// verifiedAtt is an attestation layer that verified, with its statement
// and the key it verified with.
type verifiedAtt struct {
	layer signing.Attached
	st    signing.Statement
	key   *signing.Verifier
}

// trusted is what of the source's attachments production may receive.
type trusted struct {
	sigs       []signing.Attached
	atts       []verifiedAtt
	dropped    []Dropped
	acceptance *acceptance.Record
	sbom       bool
	provenance *provenance.Summary
}

func drop(t *trusted, kind string, a signing.Attached, err error) {
	t.dropped = append(t.dropped, Dropped{Kind: kind, Digest: a.Desc.Digest.String(), Reason: err.Error()})
}

// sortTrust keeps the signatures that verify with the source key and the
// attestations that verify with a trusted key (source or acceptance key);
// everything else is dropped with its reason.
func sortTrust(ctx context.Context, h v1.Hash, sigs, atts []signing.Attached, srcKey, accKey *signing.Verifier) trusted {
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
		var errs []error
		ok := false
		for _, k := range keys {
			st, err := signing.VerifyAttestationLayer(ctx, a, h, k)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.atts = append(t.atts, verifiedAtt{layer: a, st: st, key: k})
			ok = true
			break
		}
		if !ok {
			drop(&t, "attestation", a, errors.Join(errs...))
		}
	}
	return t
}

// decide applies the promotion policy to the trusted attachments: a source
// signature, a passing acceptance record (unless allowed without), a valid
// SBOM and a matching provenance (unless allowed without). Attestations
// whose content is invalid are dropped too. Refusals wrap
// signing.ErrUntrusted.
func decide(t *trusted, src name.Digest, o Options, accKey *signing.Verifier) error {
	if len(t.sigs) == 0 {
		var reasons []error
		for _, d := range t.dropped {
			if d.Kind == "signature" {
				reasons = append(reasons, errors.New(d.Reason))
			}
		}
		if len(reasons) == 0 {
			reasons = append(reasons, errors.New("no signatures found"))
		}
		return fmt.Errorf("signature of %s does not verify with key %s: %w: %w", src, o.SourceKey.Identity(), errors.Join(reasons...), signing.ErrUntrusted)
	}
	var keep []verifiedAtt
	var accReasons, provReasons []error
	var best *acceptance.Record
	for _, va := range t.atts {
		switch va.st.PredicateType {
		case acceptance.PredicateType:
			r, err := acceptance.Parse(va.st.Predicate)
			if err != nil {
				drop(t, "attestation", va.layer, err)
				continue
			}
			if va.key.Identity() == accKey.Identity() {
				if err := r.Accepts(o.AcceptanceEnvironment); err != nil {
					accReasons = append(accReasons, err)
				} else if best == nil || r.Time.After(best.Time) {
					best = &r
				}
			} else {
				accReasons = append(accReasons, fmt.Errorf("acceptance record signed with %s, not the acceptance key %s", va.key.Identity(), accKey.Identity()))
			}
		case signing.PredicateSPDX:
			if va.key.Identity() != o.SourceKey.Identity() {
				break
			}
			if _, err := sbom.Parse(va.st.Predicate); err != nil {
				drop(t, "attestation", va.layer, err)
				continue
			}
			t.sbom = true
		case provenance.PredicateType:
			if va.key.Identity() != o.SourceKey.Identity() {
				break
			}
			sum, err := provenance.Parse(va.st.Predicate)
			if err != nil {
				drop(t, "attestation", va.layer, err)
				continue
			}
			if err := sum.Check(o.ExpectBuilder, o.ExpectSourceRevision); err != nil {
				provReasons = append(provReasons, err)
				drop(t, "attestation", va.layer, err)
				continue
			}
			t.provenance = &sum
		}
		keep = append(keep, va)
	}
	t.atts = keep
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
