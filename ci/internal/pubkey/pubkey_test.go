package pubkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func keyPair(t *testing.T) (pub, priv []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pder})
}

func TestCheck(t *testing.T) {
	pub, priv := keyPair(t)
	cosignPriv := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: []byte("sealed-secret-material")})
	const source, create = "Key Vault secret cosign-public-key", "create the secret cosign-public-key"
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"public key", pub, nil},
		{"public key with surrounding space", append(append([]byte("\n  "), pub...), '\n'), nil},
		{"empty", nil, ErrMissing},
		{"blank", []byte(" \n"), ErrMissing},
		{"secret never created (Azure leaves the macro)", []byte("$(cosign-public-key)"), ErrMissing},
		{"PKCS#8 private key", priv, ErrPrivateKey},
		{"cosign private key", cosignPriv, ErrPrivateKey},
		{"public then private", append(append([]byte{}, pub...), priv...), ErrPrivateKey},
		{"not PEM", []byte("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"), ErrNotPublicKey},
		{"certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), ErrNotPublicKey},
		{"garbage in a PUBLIC KEY block", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}), ErrNotPublicKey},
		{"two public keys", append(append([]byte{}, pub...), pub...), ErrNotPublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(source, create, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check() error = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if !strings.HasPrefix(err.Error(), source+": ") {
					t.Errorf("error %q does not name the source", err)
				}
				for _, secret := range []string{"sealed-secret-material", string(priv)} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains the value", err)
					}
				}
				return
			}
			if string(got) != string(pub) {
				t.Errorf("Check() = %q, want the key as PEM", got)
			}
		})
	}
}
