package signing

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// ErrKeyless marks certificate or keyless (Fulcio, Rekor bundle, sigstore
// bundle) signature material. This pipeline trusts public keys only: such
// material is refused before any cosign code would look at a certificate,
// so cosign's certificate-chain verification is never what decides trust.
var ErrKeyless = errors.New("certificate/keyless signature material is refused: only signatures made with a trusted public key (cosign key pair or KMS key) count")

// Kind is where an attachment lives: the cosign tag schema's .sig or .att
// manifest of the image digest.
type Kind string

// The attachment kinds.
const (
	Signatures   Kind = "sig"
	Attestations Kind = "att"
)

// Tag is the cosign tag-schema tag of d's attachments of this kind:
// REPO:sha256-<hex>.sig or .att.
func (k Kind) Tag(d name.Digest) name.Tag {
	return d.Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + "." + string(k))
}

// Attached is one layer of a .sig or .att manifest: its descriptor (digest,
// media type, the signature annotation) and, when fetched, its content.
type Attached struct {
	Desc    v1.Descriptor
	Payload []byte
}

// AttachedSet is a .sig or .att manifest as a registry serves it.
type AttachedSet struct {
	// Found is false when the tag does not exist.
	Found bool
	// Digest of the manifest (the zero hash when not found).
	Digest v1.Hash
	// Layers in manifest order.
	Layers []Attached
}

// maxAttached bounds one attachment's size (an SBOM of a large image is a
// few MiB).
const maxAttached = 64 << 20

// FetchAttached reads d's attachments of kind k with the registry options
// (pass remote.Reuse(puller) to share connections). With payloads, every
// layer's content is downloaded (in parallel) and checked against its
// digest; without, only the manifest is read.
func FetchAttached(ctx context.Context, d name.Digest, k Kind, payloads bool, opts ...remote.Option) (AttachedSet, error) {
	tag := k.Tag(d)
	desc, err := remote.Get(tag, append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
	if err != nil {
		if notFound(err) {
			return AttachedSet{}, nil
		}
		return AttachedSet{}, fmt.Errorf("read %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return AttachedSet{}, fmt.Errorf("read %s: not an image manifest: %w", tag, err)
	}
	set := AttachedSet{Found: true, Digest: desc.Digest, Layers: make([]Attached, len(m.Layers))}
	for i, l := range m.Layers {
		set.Layers[i].Desc = l
	}
	if !payloads {
		return set, nil
	}
	if k == Signatures {
		knownPayload(d, set.Layers)
	}
	if err := fetchPayloads(ctx, d.Context(), tag.String(), set.Layers, opts); err != nil {
		return AttachedSet{}, err
	}
	return set, nil
}

// knownPayload fills in the content of the signature layers that hold
// the standard payload for d (what Sign and cosign sign write): a layer
// whose digest is that payload's has exactly that content, so it needs
// no download.
func knownPayload(d name.Digest, layers []Attached) {
	body, err := SignaturePayload(d)
	if err != nil {
		return
	}
	h, n, err := v1.SHA256(bytes.NewReader(body))
	if err != nil {
		return
	}
	for i := range layers {
		if layers[i].Desc.Digest == h && layers[i].Desc.Size == n {
			layers[i].Payload = body
		}
	}
}

// fetchPayloads downloads into layers[i].Payload the content of every
// layer of the manifest named what that has none yet: in parallel, each
// bounded by maxAttached and checked against its digest as it is read.
func fetchPayloads(ctx context.Context, repo name.Repository, what string, layers []Attached, opts []remote.Option) error {
	var wg sync.WaitGroup
	errs := make([]error, len(layers))
	for i := range layers {
		if layers[i].Payload != nil {
			continue
		}
		wg.Go(func() {
			a := &layers[i]
			if a.Desc.Size > maxAttached {
				errs[i] = fmt.Errorf("read %s: layer %s is %d bytes, more than %d", what, a.Desc.Digest, a.Desc.Size, maxAttached)
				return
			}
			l, err := remote.Layer(repo.Digest(a.Desc.Digest.String()), append([]remote.Option{remote.WithContext(ctx)}, opts...)...)
			if err != nil {
				errs[i] = fmt.Errorf("read %s layer %s: %w", what, a.Desc.Digest, err)
				return
			}
			rc, err := l.Compressed() // verified against the digest as it is read
			if err != nil {
				errs[i] = fmt.Errorf("read %s layer %s: %w", what, a.Desc.Digest, err)
				return
			}
			defer func() { _ = rc.Close() }()
			a.Payload, err = io.ReadAll(io.LimitReader(rc, maxAttached+1))
			if err != nil {
				errs[i] = fmt.Errorf("read %s layer %s: %w", what, a.Desc.Digest, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Image is the .sig/.att manifest holding layers, in this order. It is
// deterministic (no timestamps): the same layers give the same digest, so
// a destination that already holds them is recognised by digest alone.
func Image(layers []Attached) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, a := range layers {
		if a.Payload == nil {
			return nil, fmt.Errorf("attachment %s has no content", a.Desc.Digest)
		}
		l := ggcrstatic.NewLayer(a.Payload, a.Desc.MediaType)
		if h, err := l.Digest(); err != nil || h != a.Desc.Digest {
			return nil, fmt.Errorf("attachment content does not match its digest %s", a.Desc.Digest)
		}
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: a.Desc.MediaType, Annotations: a.Desc.Annotations})
	}
	return mutate.Append(img, adds...)
}

// RefuseKeyless returns an error wrapping ErrKeyless when the layer carries
// a certificate, a certificate chain, a Rekor bundle or is a sigstore bundle.
func RefuseKeyless(desc v1.Descriptor) error {
	var what []string
	for _, k := range []string{static.CertificateAnnotationKey, static.ChainAnnotationKey, static.BundleAnnotationKey} {
		if _, ok := desc.Annotations[k]; ok {
			what = append(what, k)
		}
	}
	if strings.HasPrefix(string(desc.MediaType), "application/vnd.dev.sigstore.bundle") || strings.HasPrefix(desc.ArtifactType, "application/vnd.dev.sigstore.bundle") {
		what = append(what, "a sigstore bundle ("+string(desc.MediaType)+desc.ArtifactType+")")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("layer %s carries %s: %w", desc.Digest, strings.Join(what, ", "), ErrKeyless)
}

func keyOnlyCheckOpts(v *Verifier, claim func(oci.Signature, v1.Hash, map[string]any) error) *cosign.CheckOpts {
	return &cosign.CheckOpts{SigVerifier: v.v, IgnoreTlog: true, IgnoreSCT: true, Offline: true, ClaimVerifier: claim}
}

// VerifySignatureLayer checks one .sig layer: a cosign simple-signing
// payload for exactly digest d, signed with v's key. Keyless material is
// refused (ErrKeyless) before cosign sees it; other failures wrap
// ErrUntrusted.
func VerifySignatureLayer(ctx context.Context, a Attached, d v1.Hash, v *Verifier) error {
	if err := RefuseKeyless(a.Desc); err != nil {
		return fmt.Errorf("signature %s: %w: %w", a.Desc.Digest, ErrUntrusted, err)
	}
	b64 := a.Desc.Annotations[static.SignatureAnnotationKey]
	if b64 == "" {
		return fmt.Errorf("signature %s has no %s annotation: %w", a.Desc.Digest, static.SignatureAnnotationKey, ErrUntrusted)
	}
	sig, err := static.NewSignature(a.Payload, b64, static.WithLayerMediaType(a.Desc.MediaType))
	if err != nil {
		return fmt.Errorf("signature %s: %w", a.Desc.Digest, err)
	}
	if _, err := cosign.VerifyImageSignature(ctx, sig, d, keyOnlyCheckOpts(v, cosign.SimpleClaimVerifier)); err != nil {
		return fmt.Errorf("signature %s does not verify with key %s for %s: %w: %w", a.Desc.Digest, v.identity, d, ErrUntrusted, err)
	}
	return nil
}

// VerifyAttestationLayer checks one .att layer: a DSSE envelope of an
// in-toto statement whose subject is digest d, signed with v's key, and
// returns the statement. Keyless material is refused (ErrKeyless); other
// failures wrap ErrUntrusted.
func VerifyAttestationLayer(ctx context.Context, a Attached, d v1.Hash, v *Verifier) (Statement, error) {
	if err := RefuseKeyless(a.Desc); err != nil {
		return Statement{}, fmt.Errorf("attestation %s: %w: %w", a.Desc.Digest, ErrUntrusted, err)
	}
	att, err := static.NewAttestation(a.Payload, static.WithLayerMediaType(a.Desc.MediaType))
	if err != nil {
		return Statement{}, fmt.Errorf("attestation %s: %w", a.Desc.Digest, err)
	}
	if _, err := cosign.VerifyBlobAttestation(ctx, att, d, keyOnlyCheckOpts(v, cosign.IntotoSubjectClaimVerifier)); err != nil {
		return Statement{}, fmt.Errorf("attestation %s does not verify with key %s for %s: %w: %w", a.Desc.Digest, v.identity, d, ErrUntrusted, err)
	}
	return decodeStatement(a.Payload)
}

func decodeStatement(envelope []byte) (Statement, error) {
	var env struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return Statement{}, fmt.Errorf("decode attestation envelope: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return Statement{}, fmt.Errorf("decode attestation payload: %w", err)
	}
	var st Statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return Statement{}, fmt.Errorf("decode in-toto statement: %w", err)
	}
	return st, nil
}

// SignaturePayload is the cosign simple-signing payload for d: what a
// signature of d signs. It is deterministic, so an existing signature layer
// for d is recognised by its digest.
func SignaturePayload(d name.Digest) ([]byte, error) {
	body, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("signature payload of %s: %w", d, err)
	}
	return body, nil
}

// SignLayer signs d with s and returns the .sig layer, without writing it.
func SignLayer(ctx context.Context, d name.Digest, s *Signer) (Attached, error) {
	body, err := SignaturePayload(d)
	if err != nil {
		return Attached{}, err
	}
	sig, err := s.sv.SignMessage(bytes.NewReader(body), sigopts.WithContext(ctx))
	if err != nil {
		return Attached{}, fmt.Errorf("sign %s with %s: %w", d, s.identity, err)
	}
	l := ggcrstatic.NewLayer(body, ctypes.SimpleSigningMediaType)
	h, err := l.Digest()
	if err != nil {
		return Attached{}, err
	}
	return Attached{
		Desc: v1.Descriptor{
			MediaType: ctypes.SimpleSigningMediaType, Digest: h, Size: int64(len(body)),
			Annotations: map[string]string{static.SignatureAnnotationKey: base64.StdEncoding.EncodeToString(sig)},
		},
		Payload: body,
	}, nil
}

func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
