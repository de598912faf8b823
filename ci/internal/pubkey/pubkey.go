// Package pubkey checks that a value handed to the pipeline as "the public
// key" (a Key Vault secret mapped into a step) is one: present, PEM, a PKIX
// public key, and never a private key. Its errors name where the key comes
// from and what to do, and never contain the value.
package pubkey

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var (
	// ErrMissing: nothing was given (an empty or never-created secret).
	ErrMissing = errors.New("public key missing")
	// ErrPrivateKey: the value is a private key, which must never be handed out.
	ErrPrivateKey = errors.New("a private key where the public key belongs")
	// ErrNotPublicKey: the value is not a PEM-encoded public key.
	ErrNotPublicKey = errors.New("not a PEM public key")
)

// unexpandedMacro is what Azure Pipelines leaves in an environment variable
// mapped from a variable that does not exist, e.g. $(cosign-public-key).
var unexpandedMacro = regexp.MustCompile(`^\$\([A-Za-z0-9_.-]+\)$`)

// Check returns the public key in data as PEM. source names where the key
// comes from, for the error messages (e.g. "Key Vault secret
// cosign-public-key"); create says how to provide it.
func Check(source, create string, data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || unexpandedMacro.Match(trimmed) {
		return nil, fmt.Errorf("%s: %w: %s", source, ErrMissing, create)
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		if bytes.Contains(trimmed, []byte("PRIVATE KEY")) {
			return nil, fmt.Errorf("%s: %w: store the public half (cosign public-key --key cosign.key) instead", source, ErrPrivateKey)
		}
		return nil, fmt.Errorf("%s: %w (expected -----BEGIN PUBLIC KEY-----): %s", source, ErrNotPublicKey, create)
	}
	if strings.Contains(block.Type, "PRIVATE KEY") || bytes.Contains(rest, []byte("PRIVATE KEY")) {
		return nil, fmt.Errorf("%s: %w: store the public half (cosign public-key --key cosign.key) instead", source, ErrPrivateKey)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s: %w: found a %q block, expected PUBLIC KEY: %s", source, ErrNotPublicKey, block.Type, create)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%s: %w: more than one PEM block: %s", source, ErrNotPublicKey, create)
	}
	if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w: the PUBLIC KEY block does not parse: %s", source, ErrNotPublicKey, create)
	}
	return pem.EncodeToMemory(block), nil
}
