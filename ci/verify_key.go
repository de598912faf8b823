package main

import (
	"context"
	"fmt"
	"time"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/imageref"
	"dagger/pipeline/internal/pubkey"
	"dagger/pipeline/internal/report"
)

// VerifyImage checks the non-production public key before anything is
// deployed: that --public-key is a public key (not missing, not a private
// key) and that the image's signature verifies with it, i.e. that it is the
// public half of the key pair publish signs with. It returns the key as a
// file, for promote --source-public-key.
//
// The key comes from where the key pair lives (the Key Vault secret next to
// the private key), so it reaches Dagger as a secret (env:NAME); a public
// key is not secret, and only a value that parses as a public key is ever
// returned.
// +cache="never"
func (m *Pipeline) VerifyImage(
	ctx context.Context,
	// The digest-pinned reference publish returned (registry/repo@sha256:...).
	image string,
	// The non-production cosign public key (PEM), e.g. env:COSIGN_PUBLIC_KEY from the Key Vault secret cosign-public-key.
	publicKey *dagger.Secret,
	// Name of the secret the key comes from (the Key Vault secret next to the private key), named in errors.
	// +optional
	// +default="cosign-public-key"
	keySecret string,
	// Registry user name, e.g. env:ACR_USERNAME.
	// +optional
	username *dagger.Secret,
	// Registry password or token, e.g. env:ACR_PASSWORD.
	// +optional
	password *dagger.Secret,
	// Talk plain HTTP to the registry (a test registry, never production).
	// +optional
	plainHttp bool,
	// A registry running as a Dagger service, bound under the host name of the image's registry.
	// +optional
	registryService *dagger.Service,
) (*dagger.File, error) {
	ref, err := imageref.ParseDigestRef("image", image)
	if err != nil {
		return nil, err
	}
	keySource := "the public key from secret " + keySecret
	keyFix := "create the secret " + keySecret + " next to the signing key, holding its PEM public key (cosign public-key --key cosign.key)"
	plain, err := publicKey.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: read it: %w", keySource, err)
	}
	pem, err := pubkey.Check(keySource, keyFix, []byte(plain))
	if err != nil {
		return nil, err
	}
	ctr, err := m.toolContainer(ctx, "release")
	if err != nil {
		return nil, err
	}
	const keyPath = keysDir + "/nonprod.pub"
	args := []string{"release", "verify", "--image", ref.String(), "--public-key", keyPath}
	if plainHttp {
		args = append(args, "--plain-http")
	}
	ctr = withOptionalSecret(ctr, "REGISTRY_USERNAME", username)
	ctr = withOptionalSecret(ctr, "REGISTRY_PASSWORD", password)
	ran := withRegistryService(ctr, ref.Registry(), registryService).
		WithMountedSecret(keyPath, publicKey).
		// A signature can be removed from the registry: verify every time.
		WithEnvVariable("VERIFY_AT", time.Now().UTC().Format(time.RFC3339Nano)).
		WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ran.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify %s with %s: %w", ref, keySource, err)
	}
	if code != 0 {
		stderr, _ := ran.Stderr(ctx)
		return nil, fmt.Errorf("%s does not verify the signature of %s: store the public key of the key pair publish signs with in secret %s (cosign public-key --key cosign.key); release verify said:\n%s",
			keySource, ref, keySecret, report.Tail(stderr, 20))
	}
	return dag.Directory().WithNewFile("cosign-nonprod.pub", string(pem)).File("cosign-nonprod.pub"), nil
}
