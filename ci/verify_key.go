package main

import (
	"context"
	"fmt"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/imageref"
	"dagger/pipeline/internal/report"
)

// VerifyImage checks the non-production public key before anything is
// deployed: that --public-key is a public key (not missing, not a private
// key) and that the image's signature verifies with it, i.e. that it is the
// public half of the key pair publish signs with. It returns the key as a
// file (PEM, re-encoded from the verified key: never a private key), for
// promote --source-public-key.
//
// The key comes from where the key pair lives (the Key Vault secret next to
// the private key), so it arrives as a secret and is only mounted into the
// verify exec; its value never enters a request or a returned value other
// than the public key `release verify` writes once it verified.
//
// Caching: +cache="never", and the verify exec carries a per-call input: a
// signature can be removed from the registry, so it is checked every time.
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
	if publicKey == nil {
		return nil, fmt.Errorf("--public-key is missing: create the secret %s next to the signing key, holding its PEM public key (cosign public-key --key cosign.key)", keySecret)
	}
	ctr, err := m.toolContainer(ctx)
	if err != nil {
		return nil, err
	}
	const (
		keyPath = "/run/secrets/nonprod.pub"
		keyOut  = keysDir + "/nonprod.pub"
	)
	args, err := cmdline.VerifyArgs("release", ref.String(), keyPath, keyOut, plainHttp)
	if err != nil {
		return nil, err
	}
	ctr = withOptionalSecret(ctr, "REGISTRY_USERNAME", username)
	ctr = withOptionalSecret(ctr, "REGISTRY_PASSWORD", password)
	ran := withRegistryService(ctr, ref.Registry(), registryService).
		WithMountedSecret(keyPath, publicKey).
		WithDirectory(keysDir, dag.Directory())
	ran = withNonce(ran).WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ran.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify %s with the public key from secret %s: %w", ref, keySecret, err)
	}
	if code != 0 {
		stderr, _ := ran.Stderr(ctx)
		return nil, fmt.Errorf("the public key from secret %s does not verify the signature of %s (missing, a private key, or not the key publish signs with): store the PEM public key of the key pair publish signs with in secret %s (cosign public-key --key cosign.key); release verify said:\n%s",
			keySecret, ref, keySecret, report.Tail(stderr, 20))
	}
	return ran.File(keyOut), nil
}
