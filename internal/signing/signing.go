// Package signing signs, attests and verifies images the cosign way, offline
// (no transparency log, no Fulcio): signatures go to the sha256-<hex>.sig tag
// and in-toto attestations (DSSE envelopes) to the sha256-<hex>.att tag of the
// image's repository, so `cosign verify --key KEY --insecure-ignore-tlog` and
// `cosign verify-attestation` accept them. Keys are cosign's encrypted PEM key
// pairs or KMS references (azurekms://...).
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/in-toto/in-toto-golang/in_toto"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/cosign/attestation"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	// Registers the azurekms:// provider (keys in Azure Key Vault).
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
)

// ErrUntrusted marks trust failures: a signature or attestation that does not
// verify, or is missing. They are never retried.
var ErrUntrusted = errors.New("not trusted")

// PredicateSPDX is the predicate type of SPDX SBOM attestations (cosign's
// --type spdxjson).
const PredicateSPDX = in_toto.PredicateSPDX

// PredicateSLSAProvenance1 is the predicate type of SLSA v1 provenance
// attestations (cosign's --type slsaprovenance1).
const PredicateSLSAProvenance1 = "https://slsa.dev/provenance/v1"

// GenerateKeyPair creates a cosign key pair: the private key as an encrypted
// PEM ("ENCRYPTED SIGSTORE PRIVATE KEY", the form `cosign generate-key-pair`
// writes) and the public key as PEM.
func GenerateKeyPair(password []byte) (privatePEM, publicPEM []byte, err error) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, nil, fmt.Errorf("generate key pair: %w", err)
	}
	return kb.PrivateBytes, kb.PublicBytes, nil
}

// Signer signs with a private key or a KMS key.
type Signer struct {
	sv       signature.SignerVerifier
	identity string
}

// Verifier verifies with a public key.
type Verifier struct {
	v        signature.Verifier
	identity string
}

// Identity names the key without revealing secrets: "sha256:<fingerprint of
// the public key>" for key files, "<kms uri> (sha256:<fingerprint>)" for KMS.
func (s *Signer) Identity() string { return s.identity }

// Verifier returns the verifier of the signer's public key.
func (s *Signer) Verifier() *Verifier { return &Verifier{v: s.sv, identity: s.identity} }

// Identity names the public key (its fingerprint, or its KMS URI).
func (v *Verifier) Identity() string { return v.identity }

// IsKMS reports whether ref is a KMS key reference (SCHEME://..., other than
// env://). Only azurekms:// is built in; other schemes fail to load with an
// error saying so.
func IsKMS(ref string) bool {
	scheme, _, ok := strings.Cut(ref, "://")
	return ok && scheme != "env" && scheme != "" && !strings.ContainsAny(scheme, "/\\.")
}

// LoadSigner loads a signing key. ref is a path to a cosign encrypted private
// key PEM, env://VAR (the PEM in an environment variable), or a KMS
// reference such as azurekms://VAULT.vault.azure.net/KEY[/VERSION] (which uses
// the Azure credentials of the environment). password decrypts key files.
// flag names the argument in errors.
func LoadSigner(ctx context.Context, flag, ref string, password []byte) (*Signer, error) {
	if ref == "" {
		return nil, fmt.Errorf("%s is empty: pass a cosign private key file or an azurekms:// key reference", flag)
	}
	if IsKMS(ref) {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		var notFound *kms.ProviderNotFoundError
		if errors.As(err, &notFound) {
			return nil, fmt.Errorf("%s: %s is not a supported KMS: use azurekms://VAULT.vault.azure.net/KEY[/VERSION] (built in: %v)", flag, ref, kms.SupportedProviders())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: open KMS key %s (check the URI and the Azure credentials AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET or workload identity): %w", flag, ref, err)
		}
		pub, err := sv.PublicKey(sigopts.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("%s: read public key of KMS key %s: %w", flag, ref, err)
		}
		fp, err := Fingerprint(pub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return &Signer{sv: sv, identity: ref + " (" + fp + ")"}, nil
	}
	pemBytes, err := readKeyRef(flag, ref)
	if err != nil {
		return nil, err
	}
	return SignerFromPEM(flag, pemBytes, password)
}

// SignerFromPEM loads a cosign encrypted private key PEM.
func SignerFromPEM(flag string, pemBytes, password []byte) (*Signer, error) {
	sv, err := cosign.LoadPrivateKey(pemBytes, password, nil)
	if err != nil {
		// cosign's errors name the PEM type or "decrypt"; they carry no key material.
		return nil, fmt.Errorf("%s: load cosign private key (is COSIGN_PASSWORD the key's password, and the file a cosign private key?): %w", flag, err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%s: public key: %w", flag, err)
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &Signer{sv: sv, identity: fp}, nil
}

// LoadVerifier loads a public key: a PEM file path, env://VAR, or a KMS
// reference.
func LoadVerifier(ctx context.Context, flag, ref string) (*Verifier, error) {
	if ref == "" {
		return nil, fmt.Errorf("%s is empty: pass a cosign public key file (cosign.pub) or a KMS key reference", flag)
	}
	if IsKMS(ref) {
		s, err := LoadSigner(ctx, flag, ref, nil)
		if err != nil {
			return nil, err
		}
		return s.Verifier(), nil
	}
	pemBytes, err := readKeyRef(flag, ref)
	if err != nil {
		return nil, err
	}
	return VerifierFromPEM(flag, pemBytes)
}

// VerifierFromPEM loads a PEM public key.
func VerifierFromPEM(flag string, pemBytes []byte) (*Verifier, error) {
	if blk, _ := pem.Decode(pemBytes); blk != nil && strings.Contains(blk.Type, "CERTIFICATE") {
		return nil, fmt.Errorf("%s: a %s, not a public key: pass the cosign.pub of a key pair or a KMS key: %w", flag, blk.Type, ErrKeyless)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PEM public key (pass the .pub file of the key pair): %w", flag, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s: unsupported public key: %w", flag, err)
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &Verifier{v: v, identity: fp}, nil
}

// Fingerprint is "sha256:" and the hex SHA-256 of the public key's DER
// (SubjectPublicKeyInfo) encoding.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func readKeyRef(flag, ref string) ([]byte, error) {
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		data := os.Getenv(v)
		if data == "" {
			return nil, fmt.Errorf("%s: environment variable %s is empty: put the PEM key in it or pass a file path", flag, v)
		}
		return []byte(data), nil
	}
	data, err := os.ReadFile(filepath.Clean(ref))
	if err != nil {
		return nil, fmt.Errorf("%s: read key file: %w", flag, err)
	}
	return data, nil
}

// RegistryOptions are how signing talks to the image's registry.
type RegistryOptions struct {
	Remote []remote.Option
	Name   []name.Option
}

func (r RegistryOptions) oci() []ociremote.Option {
	return []ociremote.Option{ociremote.WithRemoteOptions(r.Remote...), ociremote.WithNameOptions(r.Name...)}
}

// Sign signs the image digest d with s and stores the signature in d's
// repository. When a signature by the same key already verifies, nothing is
// written (signing is idempotent). It reports whether it wrote a signature.
func Sign(ctx context.Context, d name.Digest, s *Signer, ro RegistryOptions) (bool, error) {
	if _, err := VerifySignature(ctx, d, s.Verifier(), ro); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrUntrusted) {
		return false, err
	}
	body, err := (&payload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		return false, fmt.Errorf("sign %s: payload: %w", d, err)
	}
	sig, err := s.sv.SignMessage(bytes.NewReader(body), sigopts.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("sign %s with %s: %w", d, s.identity, err)
	}
	ociSig, err := static.NewSignature(body, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		return false, fmt.Errorf("sign %s: %w", d, err)
	}
	se := ociremote.SignedUnknown(d, ro.oci()...)
	newSE, err := mutate.AttachSignatureToEntity(se, ociSig)
	if err != nil {
		return false, fmt.Errorf("sign %s: attach: %w", d, err)
	}
	if err := ociremote.WriteSignatures(d.Repository, newSE, ro.oci()...); err != nil {
		return false, fmt.Errorf("sign %s: write signature: %w", d, err)
	}
	return true, nil
}

// Attest wraps predicate (JSON) in an in-toto statement about d, signs it as
// a DSSE envelope and appends it to d's attestations. predicateType is a URI,
// or cosign's "spdxjson" or "slsaprovenance1" short name. When replace is true, an existing
// attestation of the same predicate type that verifies with s and has the
// same predicate is kept instead (idempotent publishing).
func Attest(ctx context.Context, d name.Digest, s *Signer, predicateType string, predicate []byte, ro RegistryOptions, skipIfPresent bool) (bool, error) {
	uri := predicateType
	switch predicateType {
	case "spdxjson":
		uri = PredicateSPDX
	case "slsaprovenance1":
		uri = PredicateSLSAProvenance1
	}
	if skipIfPresent {
		existing, err := VerifyAttestations(ctx, d, s.Verifier(), uri, ro)
		if err == nil && len(existing) > 0 {
			return false, nil
		} else if err != nil && !errors.Is(err, ErrUntrusted) {
			return false, err
		}
	}
	stmt, err := attestation.GenerateStatement(attestation.GenerateOpts{
		Predicate: bytes.NewReader(predicate),
		Type:      predicateType,
		Digest:    d.DigestStr()[len("sha256:"):],
		Repo:      d.Repository.String(),
		Time:      time.Now,
	})
	if err != nil {
		return false, fmt.Errorf("attest %s: statement: %w", d, err)
	}
	body, err := json.Marshal(stmt)
	if err != nil {
		return false, fmt.Errorf("attest %s: encode statement: %w", d, err)
	}
	env, err := dsse.WrapSigner(s.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(body), sigopts.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("attest %s with %s: %w", d, s.identity, err)
	}
	att, err := static.NewAttestation(env,
		static.WithLayerMediaType(ctypes.DssePayloadType),
		static.WithAnnotations(map[string]string{"predicateType": uri}))
	if err != nil {
		return false, fmt.Errorf("attest %s: %w", d, err)
	}
	se := ociremote.SignedUnknown(d, ro.oci()...)
	newSE, err := mutate.AttachAttestationToEntity(se, att)
	if err != nil {
		return false, fmt.Errorf("attest %s: attach: %w", d, err)
	}
	if err := ociremote.WriteAttestations(d.Repository, newSE, ro.oci()...); err != nil {
		return false, fmt.Errorf("attest %s: write attestation: %w", d, err)
	}
	return true, nil
}

// VerifySignature checks that d has a cosign signature made with v's key for
// exactly this digest. It returns the number of verified signatures. Trust
// failures wrap ErrUntrusted (and ErrKeyless when the only candidates were
// certificate/keyless signatures); registry failures are returned as they
// are.
func VerifySignature(ctx context.Context, d name.Digest, v *Verifier, ro RegistryOptions) (int, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return 0, fmt.Errorf("verify signature of %s: %w", d, err)
	}
	set, err := FetchAttached(ctx, d, Signatures, true, ro.Remote...)
	if err != nil {
		return 0, fmt.Errorf("verify signature of %s: %w", d, err)
	}
	if len(set.Layers) == 0 {
		return 0, fmt.Errorf("signature of %s does not verify with key %s: no signatures found: %w", d, v.identity, ErrUntrusted)
	}
	n := 0
	var reasons []error
	for _, a := range set.Layers {
		if err := VerifySignatureLayer(ctx, a, h, v); err != nil {
			reasons = append(reasons, err)
			continue
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("signature of %s does not verify with key %s: %w", d, v.identity, errors.Join(reasons...))
	}
	return n, nil
}

// Statement is a verified in-toto statement.
type Statement struct {
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// VerifyAttestations returns the statements of predicateType attached to d,
// signed with v's key and whose subject is d. None is a trust failure
// (ErrUntrusted; with ErrKeyless when keyless material was refused).
func VerifyAttestations(ctx context.Context, d name.Digest, v *Verifier, predicateType string, ro RegistryOptions) ([]Statement, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("verify attestations of %s: %w", d, err)
	}
	set, err := FetchAttached(ctx, d, Attestations, true, ro.Remote...)
	if err != nil {
		return nil, fmt.Errorf("verify attestations of %s: %w", d, err)
	}
	var out []Statement
	var reasons []error
	for _, a := range set.Layers {
		st, err := VerifyAttestationLayer(ctx, a, h, v)
		if err != nil {
			reasons = append(reasons, err)
			continue
		}
		if st.PredicateType == predicateType {
			out = append(out, st)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no %s attestation signed with key %s: %w", d, predicateType, v.identity, errors.Join(append(reasons, ErrUntrusted)...))
	}
	return out, nil
}

// String names the key, never its material.
func (s *Signer) String() string { return "signing.Signer{" + s.identity + "}" }

// GoString is String, so %#v does not print the key either.
func (s *Signer) GoString() string { return s.String() }
