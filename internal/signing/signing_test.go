package signing

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestKeys(t *testing.T) {
	priv, pub, err := GenerateKeyPair([]byte("CANARY-pass"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(priv), "ENCRYPTED SIGSTORE PRIVATE KEY") || !strings.Contains(string(pub), "PUBLIC KEY") {
		t.Fatalf("unexpected PEM types:\n%s\n%s", priv, pub)
	}
	s, err := SignerFromPEM("--key", priv, []byte("CANARY-pass"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifierFromPEM("--public-key", pub)
	if err != nil {
		t.Fatal(err)
	}
	if s.Identity() != v.Identity() || !strings.HasPrefix(v.Identity(), "sha256:") || len(v.Identity()) != 71 {
		t.Fatalf("identities %q %q", s.Identity(), v.Identity())
	}
	if out := fmt.Sprintf("%v %+v %#v %s", s, s, s, s); strings.Contains(out, "D:") || !strings.Contains(out, s.Identity()) {
		t.Fatalf("formatted signer: %s", out)
	}
	_, pub2, err := GenerateKeyPair([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := VerifierFromPEM("--public-key", pub2)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Identity() == v.Identity() {
		t.Fatal("two key pairs share a fingerprint")
	}

	tests := []struct {
		name    string
		load    func() error
		wantErr string
	}{
		{"wrong password", func() error { _, err := SignerFromPEM("--key", priv, []byte("wrong")); return err }, "COSIGN_PASSWORD"},
		{"public key as private", func() error { _, err := SignerFromPEM("--key", pub, nil); return err }, "--key"},
		{"private key as public", func() error { _, err := VerifierFromPEM("--public-key", priv); return err }, "not a PEM public key"},
		{"unsupported KMS", func() error {
			_, err := LoadSigner(context.Background(), "--kms-key", "hashivault://transit-key", nil)
			return err
		}, "not a supported KMS"},
		{"missing file", func() error {
			_, err := LoadSigner(context.Background(), "--key", "/nonexistent/cosign.key", nil)
			return err
		}, "read key file"},
		{"empty ref", func() error { _, err := LoadVerifier(context.Background(), "--public-key", ""); return err }, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "PRIVATE KEY-----\n") {
				t.Fatalf("error reveals secret material: %v", err)
			}
		})
	}
}

func TestIsKMS(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"azurekms://myvault.vault.azure.net/release-key", true},
		{"awskms:///arn:aws:kms:us-east-1:1:key/x", true},
		{"hashivault://transit-key", true},
		{"cosign.key", false},
		{"env://COSIGN_PRIVATE_KEY", false},
	}
	for _, tt := range tests {
		if got := IsKMS(tt.ref); got != tt.want {
			t.Errorf("IsKMS(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}

// The Azure provider is registered: a reference is parsed and only fails
// when it tries to reach Azure, not with "no provider". (Signing through
// Key Vault itself: azurekms_integration_test.go.)
func TestAzureKMSProviderRegistered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // never reach the network
	_, err := LoadSigner(ctx, "--kms-key", "azurekms://not-a-vault.invalid/key", nil)
	if err == nil {
		t.Fatal("loading an Azure key without Azure succeeded")
	}
	if strings.Contains(err.Error(), "no known provider") || strings.Contains(err.Error(), "not found") && strings.Contains(err.Error(), "provider") {
		t.Fatalf("azurekms provider not registered: %v", err)
	}
	t.Log(err)
}
