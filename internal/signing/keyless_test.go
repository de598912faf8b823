package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrstatic "github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Every verification path refuses certificate/keyless material before
// cosign looks at it, even when the signature itself is valid for the
// trusted key: cosign's certificate-chain checks (GO-2026-4529) are never
// what decides trust. hack/vuln-allow.txt cites this test.
func TestKeylessMaterialRefused(t *testing.T) {
	ctx := context.Background()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{sv: sv, identity: "test"}
	v := s.Verifier()
	d, err := name.NewDigest("reg.example/orders@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v1.NewHash(d.DigestStr())

	good, err := SignLayer(ctx, d, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignatureLayer(ctx, good, h, v); err != nil {
		t.Fatalf("a key-signed signature is refused: %v", err)
	}

	// A self-issued certificate for the very key that signed: a
	// "certificate-signed signature" as keyless signing produces.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fulcio-like"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(-time.Minute)} // expired, as in the advisory
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	withAnn := func(extra map[string]string) Attached {
		a := good
		a.Desc.Annotations = map[string]string{static.SignatureAnnotationKey: good.Desc.Annotations[static.SignatureAnnotationKey]}
		for k, val := range extra {
			a.Desc.Annotations[k] = val
		}
		return a
	}
	bundleJSON := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"` +
		base64.StdEncoding.EncodeToString(der) + `"}},"messageSignature":{}}`)
	bundleLayer := ggcrstatic.NewLayer(bundleJSON, "application/vnd.dev.sigstore.bundle.v0.3+json")
	bh, _ := bundleLayer.Digest()

	tests := []struct {
		name string
		a    Attached
		att  bool
	}{
		{"certificate-signed signature", withAnn(map[string]string{static.CertificateAnnotationKey: certPEM}), false},
		{"certificate chain", withAnn(map[string]string{static.ChainAnnotationKey: certPEM}), false},
		{"keyless Rekor bundle", withAnn(map[string]string{static.CertificateAnnotationKey: certPEM, static.BundleAnnotationKey: `{"SignedEntryTimestamp":"","Payload":{}}`}), false},
		{"sigstore bundle (keyless) as attestation", Attached{Desc: v1.Descriptor{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", Digest: bh, Size: int64(len(bundleJSON))}, Payload: bundleJSON}, true},
		{"certificate on a DSSE attestation", Attached{Desc: v1.Descriptor{MediaType: types.MediaType("application/vnd.dsse.envelope.v1+json"), Digest: bh,
			Annotations: map[string]string{static.CertificateAnnotationKey: certPEM}}, Payload: bundleJSON}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.att {
				_, err = VerifyAttestationLayer(ctx, tt.a, h, v)
			} else {
				err = VerifySignatureLayer(ctx, tt.a, h, v)
			}
			if !errors.Is(err, ErrKeyless) || !errors.Is(err, ErrUntrusted) {
				t.Fatalf("err %v; want ErrKeyless and ErrUntrusted", err)
			}
			if !strings.Contains(err.Error(), "only signatures made with a trusted public key") {
				t.Fatalf("error %q does not say what is accepted", err)
			}
		})
	}

	// A certificate given where a public key is expected.
	if _, err := VerifierFromPEM("--source-public-key", []byte(certPEM)); !errors.Is(err, ErrKeyless) || !strings.Contains(err.Error(), "--source-public-key") {
		t.Fatalf("certificate as public key: %v; want ErrKeyless naming the flag", err)
	}
}
