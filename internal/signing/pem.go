package signing

import (
	"fmt"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// PublicKeyPEM returns the verifier's public key, PEM-encoded: what a key
// checked by a verification can be handed on as (never a private key).
func (v *Verifier) PublicKeyPEM() ([]byte, error) {
	pk, err := v.v.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key of %s: %w", v.identity, err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pk)
	if err != nil {
		return nil, fmt.Errorf("encode the public key of %s: %w", v.identity, err)
	}
	return pem, nil
}
