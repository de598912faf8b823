// Package promote copies a signed, accepted image by digest from the
// non-production registry to the production registry: every platform
// manifest, the index and its blobs, so the production digest is the
// non-production digest, together with only those signatures and
// attestations that verify with a trusted key (the rest is dropped and
// reported). It verifies trust before writing anything (signature,
// acceptance record, SBOM, SLSA provenance), signs for production, verifies
// the result at the destination and only then sets production tags.
// Promoting an already promoted digest writes nothing and transfers no
// layer data.
package promote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/provenance"
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
	// Tags to set in the production repository (optional); they are set
	// last, once the image is complete, signed and verified there.
	Tags []string
	// AllowNoSBOM promotes an image without a valid SBOM attestation signed
	// with SourceKey (recorded).
	AllowNoSBOM bool
	// AllowNoProvenance promotes an image without an SLSA provenance
	// attestation signed with SourceKey (recorded).
	AllowNoProvenance bool
	// ExpectBuilder and ExpectSourceRevision, when set, must be the
	// provenance's builder id and source revision.
	ExpectBuilder, ExpectSourceRevision string
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
	SignedForProduction bool `json:"signedForProduction"`
	// SBOM is true when a valid SPDX SBOM attestation signed with the source
	// key was verified and promoted; AllowedNoSBOM when promoted without.
	SBOM          bool `json:"sbom"`
	AllowedNoSBOM bool `json:"allowedNoSbom,omitempty"`
	// Provenance is the verified SLSA provenance promoted with the image.
	Provenance          *provenance.Summary `json:"provenance,omitempty"`
	AllowedNoProvenance bool                `json:"allowedNoProvenance,omitempty"`
	// Referrers are the OCI referrers (signatures and attestations in
	// cosign's formats, every layer verified) copied unchanged.
	Referrers []Referrer `json:"referrers,omitempty"`
	// Dropped lists attachments of the source that were not promoted
	// because they do not verify with a trusted key.
	Dropped []Dropped `json:"dropped,omitempty"`
	Time    time.Time `json:"time"`
}

// Referrer is an OCI referrer carried to production.
type Referrer struct {
	Digest       string `json:"digest"`
	ArtifactType string `json:"artifactType"`
}

// Dropped is an attachment left behind, and why.
type Dropped struct {
	Kind   string `json:"kind"` // "signature", "attestation" or "referrer"
	Digest string `json:"digest"`
	Reason string `json:"reason"`
}

// Promote runs the promotion. On a trust failure (errors.Is(err,
// signing.ErrUntrusted)) nothing was written to the destination.
//
// Order of work: the source (index, signatures, attestations, OCI
// referrers) and the destination's state are read in parallel; trust is
// decided from the source alone; then the image is copied (only what the
// destination lacks) while the attachments' blobs are uploaded, then the
// trusted referrers (unchanged) and the attestation and signature
// manifests are written, checked as the destination serves them,
// and only then are production tags set. A re-run after a failure at any
// step completes the promotion.
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
	h, err := v1.NewHash(src.DigestStr())
	if err != nil {
		return Record{}, fmt.Errorf("promote: --from digest: %w", err)
	}
	rec := Record{
		Source: src.String(), Destination: dst.String(), Digest: src.DigestStr(),
		SourceKey: o.SourceKey.Identity(), ProductionKey: o.Signer.Identity(), Tags: o.Tags,
		AllowedUnaccepted: o.AllowUnaccepted,
	}
	if !o.AllowUnaccepted {
		rec.AcceptanceKey = accKey.Identity()
	}
	var tags []name.Tag
	for _, t := range o.Tags {
		tag, err := name.NewTag(o.To.String()+":"+t, append([]name.Option{name.StrictValidation}, o.Target.NameOptions()...)...)
		if err != nil {
			return Record{}, fmt.Errorf("promote: --tag %q is not a valid tag: %w", t, err)
		}
		tags = append(tags, tag)
	}
	srcPuller, err := remote.NewPuller(o.Source.Remote(ctx)...)
	if err != nil {
		return Record{}, fmt.Errorf("promote: %w", err)
	}
	srcR := append(o.Source.Remote(ctx), remote.Reuse(srcPuller))

	// 1. Read the source and the destination's state in parallel. Reads
	//    only: nothing is written before trust is decided. Every
	//    destination request (these reads, the writes, the read-back) goes
	//    through one session: one ping, one token with push and pull.
	var (
		desc                 *remote.Descriptor
		srcSigs, srcAtts     signing.AttachedSet
		srcRefs              []signing.Referrer
		srcErr               [4]error
		session              *regclient.Session
		sessionErr           error
		dstR                 []remote.Option
		dstHead              error
		dstSigs, dstAtts     signing.AttachedSet
		dstSigErr, dstAttErr error
		tagDescs             = make([]*v1.Descriptor, len(tags))
		tagErrs              = make([]error, len(tags))
		wg                   sync.WaitGroup
	)
	descDone := make(chan struct{})
	var children []v1.Image
	wg.Go(func() { defer close(descDone); desc, srcErr[0] = remote.Get(src, srcR...) })
	wg.Go(func() { srcSigs, srcErr[1] = signing.FetchAttached(ctx, src, signing.Signatures, true, srcR...) })
	wg.Go(func() { srcAtts, srcErr[2] = signing.FetchAttached(ctx, src, signing.Attestations, true, srcR...) })
	wg.Go(func() { srcRefs, srcErr[3] = signing.FetchReferrers(ctx, src, srcR...) })
	wg.Go(func() {
		if session, sessionErr = o.Target.Session(ctx, o.To, true); sessionErr != nil {
			return
		}
		dstR = session.Remote(ctx)
		var dwg sync.WaitGroup
		for i, tag := range tags {
			dwg.Go(func() { tagDescs[i], tagErrs[i] = remote.Head(tag, dstR...) })
		}
		// The .sig and .att manifests matter only beside the image: a
		// promotion writes the image first, so without it there is no
		// half-done promotion to complete, and what is written replaces
		// whatever those tags hold.
		if _, dstHead = remote.Head(dst, dstR...); dstHead == nil {
			dwg.Go(func() { dstSigs, dstSigErr = signing.FetchAttached(ctx, dst, signing.Signatures, false, dstR...) })
			dwg.Go(func() { dstAtts, dstAttErr = signing.FetchAttached(ctx, dst, signing.Attestations, false, dstR...) })
		} else if regclient.StatusCode(dstHead) == 404 {
			// The image will be copied: read its manifests now, while
			// the source's attachments are read, not at the start of the
			// copy.
			<-descDone
			if srcErr[0] == nil {
				children = childImages(desc)
			}
		}
		dwg.Wait()
	})
	wg.Wait()
	if srcErr[0] != nil {
		return Record{}, o.Source.Explain(srcErr[0], "promote: resolve "+src.String(), srcReg)
	}
	if desc.Digest.String() != src.DigestStr() {
		return Record{}, fmt.Errorf("promote: registry %s answered %s for %s: nothing written to %s: %w", srcReg, desc.Digest, src, dstReg, signing.ErrUntrusted)
	}
	for _, err := range srcErr[1:] {
		if err != nil {
			return Record{}, o.Source.Explain(err, "promote: read signatures and attestations of "+src.String(), srcReg)
		}
	}
	rec.MediaType = string(desc.MediaType)

	// 2. Trust, from the source alone.
	t := sortTrust(ctx, h, srcSigs.Layers, srcAtts.Layers, srcRefs, o.SourceKey, accKey)
	if err := decide(&t, src, o, accKey); err != nil {
		return Record{}, fmt.Errorf("promote: refusing %s: nothing written to %s: %w", src, dstReg, err)
	}
	rec.Dropped, rec.Acceptance, rec.SBOM, rec.Provenance = t.dropped, t.acceptance, t.sbom, t.provenance
	rec.AllowedNoSBOM = !t.sbom
	rec.AllowedNoProvenance = t.provenance == nil

	// The destination's state.
	if sessionErr != nil {
		return Record{}, o.Target.Explain(sessionErr, "promote: sign in to "+dstReg, dstReg)
	}
	pusher, err := remote.NewPusher(append(dstR, remote.WithJobs(uploadJobs))...)
	if err != nil {
		return Record{}, fmt.Errorf("promote: %w", err)
	}
	imageThere := dstHead == nil
	if dstHead != nil && regclient.StatusCode(dstHead) != 404 {
		return Record{}, o.Target.Explain(dstHead, "promote: check "+dst.String(), dstReg)
	}
	for _, err := range []error{dstSigErr, dstAttErr} {
		if err != nil {
			return Record{}, o.Target.Explain(err, "promote: read signatures and attestations of "+dst.String(), dstReg)
		}
	}
	for i, err := range tagErrs {
		if err != nil && regclient.StatusCode(err) != 404 {
			return Record{}, o.Target.Explain(err, "promote: check "+tags[i].String(), dstReg)
		}
	}

	// 3. What production will hold: the trusted source signatures plus the
	//    production signature (the existing one when it verifies), and the
	//    trusted attestations.
	prodSig, signed, err := productionSignature(ctx, dst, h, o.Signer, dstSigs)
	if err != nil {
		return Record{}, err
	}
	rec.SignedForProduction = signed
	sigLayers := append(append([]signing.Attached{}, t.sigs...), prodSig)
	// Attestations that came as OCI referrers travel in their referrer;
	// the others in the .att manifest.
	var attLayers, allAtts []signing.Attached
	for _, va := range t.atts {
		allAtts = append(allAtts, va.layer)
		if va.ref == nil {
			attLayers = append(attLayers, va.layer)
		}
	}
	sigImg, err := signing.Image(sigLayers)
	if err != nil {
		return Record{}, fmt.Errorf("promote: signature manifest: %w", err)
	}
	sigDigest, err := sigImg.Digest()
	if err != nil {
		return Record{}, fmt.Errorf("promote: signature manifest: %w", err)
	}
	var attImg v1.Image
	var attDigest v1.Hash
	if len(attLayers) > 0 {
		if attImg, err = signing.Image(attLayers); err != nil {
			return Record{}, fmt.Errorf("promote: attestation manifest: %w", err)
		}
		if attDigest, err = attImg.Digest(); err != nil {
			return Record{}, fmt.Errorf("promote: attestation manifest: %w", err)
		}
	}
	p := plan{
		imageThere: imageThere,
		sigThere:   dstSigs.Found && dstSigs.Digest == sigDigest,
		attThere:   attImg == nil || (dstAtts.Found && dstAtts.Digest == attDigest),
		refsThere:  len(t.refs) == 0,
		children:   children,
		sigImg:     sigImg,
		attImg:     attImg,
		refs:       t.refs,
	}
	for _, r := range t.refs {
		rec.Referrers = append(rec.Referrers, Referrer{Digest: r.Digest.String(), ArtifactType: r.ArtifactType})
	}
	if !p.refsThere && imageThere {
		if p.refsThere, err = referrersListed(ctx, o, dst, dstR, t.refs); err != nil {
			return Record{}, err
		}
	}
	var tagsToSet []name.Tag
	for i, tag := range tags {
		if tagDescs[i] == nil || tagDescs[i].Digest != h {
			tagsToSet = append(tagsToSet, tag)
		}
	}
	rec.AlreadyPromoted = p.imageThere && p.sigThere && p.attThere && p.refsThere && len(tagsToSet) == 0

	// 4. Write what is missing: the image (go-containerregistry skips what
	//    the destination has) and, alongside, the attachments' blobs; then
	//    the referrers, the attestation and the signature manifests.
	if !rec.AlreadyPromoted {
		if err := write(ctx, o, session, pusher, desc, dst, p, &rec); err != nil {
			return Record{}, err
		}
	}

	// 5. Verify what production serves: the attachment manifests
	//    (digest-equal to what was verified above, so their content is
	//    exactly that) and the referrers list, then re-verify that content
	//    with the production, source and acceptance keys.
	if !rec.AlreadyPromoted {
		if err := checkServed(ctx, o, dst, dstR, sigDigest, attDigest, attImg != nil, t.refs); err != nil {
			return Record{}, err
		}
	}
	if err := verifyFinal(ctx, h, append(sigLayers, t.refSigs...), allAtts, o, accKey); err != nil {
		return Record{}, fmt.Errorf("promote: %s does not verify at the destination: %w", dst, err)
	}

	// 6. Only now: production tags.
	if len(tagsToSet) > 0 {
		for _, tag := range tagsToSet {
			if err := pusher.Put(ctx, tag, desc); err != nil {
				return Record{}, o.Target.Explain(err, "promote: tag "+tag.String(), dstReg)
			}
		}
	}
	rec.Time = now().UTC()
	return rec, nil
}

// productionSignature returns the production signature layer: the one the
// destination already has when it is for this digest and verifies with the
// production key (recognised by the payload's digest, no download), else a
// new one.
func productionSignature(ctx context.Context, dst name.Digest, h v1.Hash, s *signing.Signer, have signing.AttachedSet) (signing.Attached, bool, error) {
	body, err := signing.SignaturePayload(dst)
	if err != nil {
		return signing.Attached{}, false, fmt.Errorf("promote: %w", err)
	}
	for _, l := range have.Layers {
		a := signing.Attached{Desc: l.Desc, Payload: body}
		if l.Desc.Size == int64(len(body)) && signing.VerifySignatureLayer(ctx, a, h, s.Verifier()) == nil {
			return a, false, nil
		}
	}
	a, err := signing.SignLayer(ctx, dst, s)
	if err != nil {
		return signing.Attached{}, false, fmt.Errorf("promote: sign for production: %w", err)
	}
	return a, true, nil
}

// plan is what the destination lacks: the image, the .sig and .att
// manifests to write, and the OCI referrers to copy unchanged.
type plan struct {
	imageThere, sigThere, attThere, refsThere bool
	// children are the index's images with their manifests read (nil:
	// not an index of images, or not read); see childImages.
	children       []v1.Image
	sigImg, attImg v1.Image
	refs           []*signing.Referrer
}

// uploadJobs is how many uploads run at once: `crane copy`'s default.
const uploadJobs = 4

func write(ctx context.Context, o Options, session *regclient.Session, pusher *remote.Pusher, desc *remote.Descriptor, dst name.Digest, p plan, rec *Record) error {
	dstReg := dst.RegistryStr()
	var blobs []v1.Layer
	for _, x := range []struct {
		there bool
		img   v1.Image
	}{{p.sigThere, p.sigImg}, {p.attThere, p.attImg}} {
		if x.there || x.img == nil {
			continue
		}
		bs, err := imageBlobs(x.img)
		if err != nil {
			return fmt.Errorf("promote: %w", err)
		}
		blobs = append(blobs, bs...)
	}
	if !p.refsThere {
		for _, r := range p.refs {
			bs, err := imageBlobs(r.Image)
			if err != nil {
				return o.Source.Explain(err, "promote: read referrer "+r.Digest.String(), o.From.RegistryStr())
			}
			blobs = append(blobs, bs...)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	if !p.imageThere {
		g.Go(func() error { return copyImage(gctx, o, pusher, desc, p.children, dst) })
	}
	for _, b := range blobs {
		g.Go(func() error {
			if err := session.UploadBlob(gctx, b); err != nil {
				return o.Target.Explain(err, "promote: upload signatures and attestations to "+dst.String(), dstReg)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// One after the other: where the destination has no referrers API,
	// each PUT updates the REPO:sha256-<hex> index (read, add, write).
	if !p.refsThere {
		for _, r := range p.refs {
			if err := pusher.Put(ctx, dst.Context().Digest(r.Digest.String()), r.Image); err != nil {
				return o.Target.Explain(err, "promote: copy referrer "+r.Digest.String()+" of "+dst.String(), dstReg)
			}
		}
	}
	// The two attachment manifests at once: neither is a production tag,
	// and a re-run rewrites whichever is missing.
	g, gctx = errgroup.WithContext(ctx)
	if !p.attThere && p.attImg != nil {
		g.Go(func() error {
			if err := pusher.Put(gctx, signing.Attestations.Tag(dst), p.attImg); err != nil {
				return o.Target.Explain(err, "promote: write attestations of "+dst.String(), dstReg)
			}
			return nil
		})
	}
	if !p.sigThere {
		g.Go(func() error {
			if err := pusher.Put(gctx, signing.Signatures.Tag(dst), p.sigImg); err != nil {
				return o.Target.Explain(err, "promote: write signatures of "+dst.String(), dstReg)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if desc.MediaType.IsIndex() {
		if idx, err := desc.ImageIndex(); err == nil {
			if im, err := idx.IndexManifest(); err == nil {
				for _, m := range im.Manifests {
					if m.Platform != nil {
						rec.Platforms = append(rec.Platforms, m.Platform.String())
					}
				}
			}
		}
	}
	return nil
}

// childImages returns the images of an index of images, each with its
// manifest read (in parallel), in index order; nil when desc is not an
// index, lists anything but images, or a read fails (the copy then reads
// them itself, and reports the failure).
func childImages(desc *remote.Descriptor) []v1.Image {
	if !desc.MediaType.IsIndex() {
		return nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil
	}
	imgs := make([]v1.Image, len(im.Manifests))
	errs := make([]error, len(im.Manifests))
	var wg sync.WaitGroup
	for i, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			return nil
		}
		wg.Go(func() {
			if imgs[i], errs[i] = idx.Image(m.Digest); errs[i] == nil {
				_, errs[i] = imgs[i].RawManifest()
			}
		})
	}
	wg.Wait()
	if errors.Join(errs...) != nil {
		return nil
	}
	return imgs
}

// copyImage writes the image at dst, which the read phase found missing.
// An index of images (children, read by childImages) is written as its
// images and then the index itself: go-containerregistry's Push of the
// index would first ask for it again. Anything else goes through Push
// whole.
func copyImage(ctx context.Context, o Options, pusher *remote.Pusher, desc *remote.Descriptor, children []v1.Image, dst name.Digest) error {
	from, dstReg := o.From, dst.RegistryStr()
	var t remote.Taggable
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return o.Source.Explain(err, "promote: read index "+from.String(), from.RegistryStr())
		}
		t = idx
	} else {
		img, err := desc.Image()
		if err != nil {
			return o.Source.Explain(err, "promote: read image "+from.String(), from.RegistryStr())
		}
		t = img
	}
	if children == nil {
		if err := pusher.Push(ctx, dst, t); err != nil {
			return o.Target.Explain(err, "promote: copy to "+dst.String(), dstReg)
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, img := range children {
		g.Go(func() error {
			h, err := img.Digest()
			if err != nil {
				return o.Source.Explain(err, "promote: read "+from.String(), from.RegistryStr())
			}
			if err := pusher.Push(gctx, dst.Context().Digest(h.String()), img); err != nil {
				return o.Target.Explain(err, "promote: copy "+h.String()+" to "+dst.Context().String(), dstReg)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := pusher.Put(ctx, dst, t); err != nil {
		return o.Target.Explain(err, "promote: copy to "+dst.String(), dstReg)
	}
	return nil
}

// imageBlobs are an image's layers and its config, to upload before its
// manifest.
func imageBlobs(img v1.Image) ([]v1.Layer, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cfg, err := partial.ConfigLayer(img)
	if err != nil {
		return nil, err
	}
	return append(ls, cfg), nil
}

// checkServed reads back what the destination serves under names another
// writer can change: the .sig/.att tags, which must hold the manifests
// written, and the referrers list, which must hold the copied referrers.
// The image needs no read-back: it was written by digest, which the
// registry checks against the content.
func checkServed(ctx context.Context, o Options, dst name.Digest, dstR []remote.Option, sigDigest, attDigest v1.Hash, wantAtt bool, refs []*signing.Referrer) error {
	dstReg := dst.RegistryStr()
	var (
		sigs, atts     signing.AttachedSet
		sigErr, attErr error
		wg             sync.WaitGroup
	)
	wg.Go(func() { sigs, sigErr = signing.FetchAttached(ctx, dst, signing.Signatures, false, dstR...) })
	if wantAtt {
		wg.Go(func() { atts, attErr = signing.FetchAttached(ctx, dst, signing.Attestations, false, dstR...) })
	}
	var refsListed bool
	var refsErr error
	if len(refs) > 0 {
		wg.Go(func() { refsListed, refsErr = referrersListed(ctx, o, dst, dstR, refs) })
	}
	wg.Wait()
	if refsErr != nil {
		return refsErr
	}
	for _, err := range []error{sigErr, attErr} {
		if err != nil {
			return o.Target.Explain(err, "promote: verify "+dst.String(), dstReg)
		}
	}
	if !sigs.Found || sigs.Digest != sigDigest {
		return fmt.Errorf("promote: %s serves signature manifest %s, want %s (written by another process meanwhile? run again)", signing.Signatures.Tag(dst), sigs.Digest, sigDigest)
	}
	if wantAtt && (!atts.Found || atts.Digest != attDigest) {
		return fmt.Errorf("promote: %s serves attestation manifest %s, want %s (written by another process meanwhile? run again)", signing.Attestations.Tag(dst), atts.Digest, attDigest)
	}
	if len(refs) > 0 && !refsListed {
		return fmt.Errorf("promote: %s does not list the %d copied referrers among its OCI referrers (run again)", dst, len(refs))
	}
	return nil
}

// referrersListed reports whether d's referrers list at the destination
// holds every one of refs.
func referrersListed(ctx context.Context, o Options, d name.Digest, dstR []remote.Option, refs []*signing.Referrer) (bool, error) {
	have, err := signing.ReferrerDigests(ctx, d, dstR...)
	if err != nil {
		return false, o.Target.Explain(err, "promote: list OCI referrers of "+d.String(), d.RegistryStr())
	}
	for _, r := range refs {
		if !have[r.Digest] {
			return false, nil
		}
	}
	return true, nil
}

// verifyFinal checks the attachments production serves: the production
// signature, the source signature and (unless allowed without) the
// acceptance record verify for the digest.
func verifyFinal(ctx context.Context, h v1.Hash, sigs, atts []signing.Attached, o Options, accKey *signing.Verifier) error {
	count := func(v *signing.Verifier) int {
		n := 0
		for _, a := range sigs {
			if signing.VerifySignatureLayer(ctx, a, h, v) == nil {
				n++
			}
		}
		return n
	}
	if count(o.Signer.Verifier()) == 0 {
		return fmt.Errorf("no production signature verifies with %s: %w", o.Signer.Identity(), signing.ErrUntrusted)
	}
	if count(o.SourceKey) == 0 {
		return fmt.Errorf("no non-production signature verifies with %s: %w", o.SourceKey.Identity(), signing.ErrUntrusted)
	}
	if o.AllowUnaccepted {
		return nil
	}
	for _, a := range atts {
		st, err := signing.VerifyAttestationLayer(ctx, a, h, accKey)
		if err != nil || st.PredicateType != acceptance.PredicateType {
			continue
		}
		if r, err := acceptance.Parse(st.Predicate); err == nil && r.Accepts(o.AcceptanceEnvironment) == nil {
			return nil
		}
	}
	return fmt.Errorf("no acceptance record verifies with %s: %w", accKey.Identity(), signing.ErrUntrusted)
}

// AcceptedRecord returns the newest passing acceptance record of d signed
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
