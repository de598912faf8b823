package cmdline

import (
	"fmt"

	"dagger/pipeline/internal/imageref"
)

// VerifyOptions are the inputs of `release verify`.
type VerifyOptions struct {
	Image     string // digest-pinned reference
	PublicKey string // cosign.pub file or KMS reference
	PlainHTTP bool
}

// VerifyArgs returns `release verify` arguments: the signature on image
// must verify with PublicKey. Credentials travel as REGISTRY_USERNAME and
// REGISTRY_PASSWORD.
func VerifyArgs(release string, o VerifyOptions) ([]string, error) {
	ref, err := imageref.ParseDigestRef("image", o.Image)
	if err != nil {
		return nil, err
	}
	if o.PublicKey == "" {
		return nil, fmt.Errorf("--public-key is missing: pass the public key the signature must verify with")
	}
	args := []string{release, "verify", "--image", ref.String(), "--public-key", o.PublicKey}
	if o.PlainHTTP {
		args = append(args, "--plain-http")
	}
	return args, nil
}
