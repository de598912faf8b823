package main

import (
	"context"
	"fmt"
	"strings"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/imageref"
	"dagger/pipeline/internal/dagger"
)

// Paths inside the release container.
const (
	signingKeyPath = "/run/secrets/cosign.key"
	refFile        = "/work/ref"
	recordFile     = "/work/promotion.json"
	keysDir        = "/work/keys"
)

// withRegistryService binds svc under the host name of registry when given,
// so a registry running as a Dagger service answers at that address.
func withRegistryService(ctr *dagger.Container, registry string, svc *dagger.Service) *dagger.Container {
	if svc == nil {
		return ctr
	}
	host, _, _ := strings.Cut(registry, ":")
	return ctr.WithServiceBinding(host, svc)
}

// withSigning mounts the cosign key and its password, or sets the Azure
// credentials a KMS key needs; it returns the signing flags to pass.
func withSigning(ctr *dagger.Container, key, keyPassword *dagger.Secret, kmsKey string, azure azureCredentials) (*dagger.Container, cmdline.Signing) {
	var s cmdline.Signing
	if key != nil {
		ctr = ctr.WithMountedSecret(signingKeyPath, key)
		s.KeyFile = signingKeyPath
	}
	ctr = withOptionalSecret(ctr, "COSIGN_PASSWORD", keyPassword)
	if kmsKey != "" {
		s.KMSKey = kmsKey
	}
	return azure.apply(ctr), s
}

// azureCredentials are the service principal cosign uses for azurekms:// keys.
type azureCredentials struct {
	tenantID, clientID string
	clientSecret       *dagger.Secret
}

// apply sets AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET when given.
func (a azureCredentials) apply(ctr *dagger.Container) *dagger.Container {
	if a.tenantID != "" {
		ctr = ctr.WithEnvVariable("AZURE_TENANT_ID", a.tenantID)
	}
	if a.clientID != "" {
		ctr = ctr.WithEnvVariable("AZURE_CLIENT_ID", a.clientID)
	}
	return withOptionalSecret(ctr, "AZURE_CLIENT_SECRET", a.clientSecret)
}

// Publish builds the multi-platform image, pushes it to registry/repository
// tagged with the revision (and --tags), signs its digest with cosign (a key
// pair from secrets, or a KMS key such as azurekms://VAULT.vault.azure.net/KEY)
// and attaches a signed SBOM attestation. It returns the digest-pinned
// reference (registry/repository@sha256:...) every later stage takes.
// Publishing the same source twice gives the same digest.
// Never cached (+cache="never"), and the push exec gets a per-call input
// after the cached build: it writes to a registry.
// +cache="never"
func (m *Pipeline) Publish(
	ctx context.Context,
	// Registry host, e.g. myacr.azurecr.io (the non-production registry).
	registry string,
	// Repository path in the registry.
	// +optional
	// +default="orders"
	repository string,
	// Registry user name, e.g. env:ACR_USERNAME (for an ACR token from `az acr login --expose-token`: 00000000-0000-0000-0000-000000000000).
	// +optional
	username *dagger.Secret,
	// Registry password or token, e.g. env:ACR_PASSWORD.
	// +optional
	password *dagger.Secret,
	// Extra tags besides the revision.
	// +optional
	tags []string,
	// Cosign private key, e.g. file:./cosign.key or env:COSIGN_KEY.
	// +optional
	signingKey *dagger.Secret,
	// Password of --signing-key, e.g. env:COSIGN_PASSWORD.
	// +optional
	signingKeyPassword *dagger.Secret,
	// KMS signing key instead of --signing-key, e.g. azurekms://myvault.vault.azure.net/cosign.
	// +optional
	kmsKey string,
	// Azure tenant of the service principal that may use --kms-key.
	// +optional
	azureTenantId string,
	// Azure client ID of the service principal that may use --kms-key.
	// +optional
	azureClientId string,
	// Client secret of the service principal that may use --kms-key, e.g. env:AZURE_CLIENT_SECRET.
	// +optional
	azureClientSecret *dagger.Secret,
	// Talk plain HTTP to the registry (a test registry, never production).
	// +optional
	plainHttp bool,
	// A registry running as a Dagger service, bound under the host name of --registry.
	// +optional
	registryService *dagger.Service,
	// SLSA builder id recorded in the signed build provenance, e.g. the Azure Pipelines definition URL ($(System.CollectionUri)$(System.TeamProject)/_build?definitionId=$(System.DefinitionId)). Empty: release's default builder id.
	// +optional
	builderId string,
	// Id of the pipeline run recorded in the provenance, e.g. $(Build.BuildId).
	// +optional
	invocationId string,
) (string, error) {
	repo, err := imageref.JoinRepository("registry", registry, "repository", repository)
	if err != nil {
		return "", err
	}
	layout, r, err := m.buildLayout(ctx)
	if err != nil {
		return "", err
	}
	if r.stage.Failed() {
		return "", stageError(r)
	}
	ctr, err := m.toolContainer(ctx)
	if err != nil {
		return "", err
	}
	ctr, signing := withSigning(ctr, signingKey, signingKeyPassword, kmsKey, azureCredentials{azureTenantId, azureClientId, azureClientSecret})
	args, err := cmdline.PublishArgs("release", cmdline.PublishOptions{
		Layout:     "/work/layout",
		Repository: repo,
		Tags:       append([]string{m.Revision}, tags...),
		Signing:    signing,
		PlainHTTP:  plainHttp,
		RefFile:    refFile,
		// Provenance: the source repository and revision come from the
		// image's OCI annotations; these say who built it and how.
		BuilderID:       builderId,
		InvocationID:    invocationId,
		BuildParameters: m.buildParameters(ctx),
	})
	if err != nil {
		return "", err
	}
	ctr = withOptionalSecret(ctr, "REGISTRY_USERNAME", username)
	ctr = withOptionalSecret(ctr, "REGISTRY_PASSWORD", password)
	ctr = withRegistryService(ctr, imageref.Registry(repo), registryService).
		WithDirectory("/work/layout", layout)
	ctr = withNonce(ctr).WithExec(args)
	out, err := ctr.File(refFile).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", repo, err)
	}
	ref, err := imageref.ParseDigestRef("ref-file", out)
	if err != nil {
		return "", fmt.Errorf("publish to %s returned an unusable reference: %w", repo, err)
	}
	return ref.String(), nil
}

// Promotion is the result of promoting an image to production.
type Promotion struct {
	// The production reference, pinned to the same digest as the non-production one.
	Ref string
	// The promotion record (JSON): source, destination, digest, keys' identities, time.
	Record *dagger.File
}

// Promote copies an accepted image by digest from the non-production to the
// production registry (every platform and the index; nothing is rebuilt),
// after verifying its non-production signature, its staging acceptance
// record, its SBOM and its provenance. Only the signatures and attestations
// that verify with a trusted key go along, from the cosign tag schema and
// from OCI referrers alike; the rest is dropped and listed in the record.
// It then signs the image for production and verifies the result before it
// sets any production tag. It refuses a tag, and writes nothing to production
// when a check fails. Promoting an already promoted digest is a no-op.
// Never cached (+cache="never"), and the promote exec gets a per-call input:
// it writes to the production registry.
// +cache="never"
func (m *Pipeline) Promote(
	ctx context.Context,
	// The digest-pinned non-production reference publish returned (registry/repo@sha256:...).
	from string,
	// Production repository, e.g. prodacr.azurecr.io/orders.
	to string,
	// Public key the non-production signature (and, by default, the acceptance record) must verify with.
	sourcePublicKey *dagger.File,
	// Public key the acceptance record must verify with, when not --source-public-key.
	// +optional
	acceptancePublicKey *dagger.File,
	// Non-production registry user name, e.g. env:ACR_USERNAME.
	// +optional
	sourceUsername *dagger.Secret,
	// Non-production registry password or token, e.g. env:ACR_PASSWORD.
	// +optional
	sourcePassword *dagger.Secret,
	// Production registry user name, e.g. env:PROD_ACR_USERNAME.
	// +optional
	targetUsername *dagger.Secret,
	// Production registry password or token, e.g. env:PROD_ACR_PASSWORD.
	// +optional
	targetPassword *dagger.Secret,
	// Production cosign private key, e.g. env:PROD_COSIGN_KEY.
	// +optional
	signingKey *dagger.Secret,
	// Password of --signing-key, e.g. env:PROD_COSIGN_PASSWORD.
	// +optional
	signingKeyPassword *dagger.Secret,
	// Production KMS signing key instead of --signing-key, e.g. azurekms://prodvault.vault.azure.net/cosign.
	// +optional
	kmsKey string,
	// Azure tenant of the service principal that may use --kms-key.
	// +optional
	azureTenantId string,
	// Azure client ID of the service principal that may use --kms-key.
	// +optional
	azureClientId string,
	// Client secret of the service principal that may use --kms-key, e.g. env:AZURE_CLIENT_SECRET.
	// +optional
	azureClientSecret *dagger.Secret,
	// Promote even without a staging acceptance record. For emergencies; the record says so.
	// +optional
	allowUnaccepted bool,
	// Talk plain HTTP to both registries (test registries, never production).
	// +optional
	plainHttp bool,
	// The non-production registry as a Dagger service, bound under its host name.
	// +optional
	sourceRegistryService *dagger.Service,
	// The production registry as a Dagger service, bound under its host name.
	// +optional
	targetRegistryService *dagger.Service,
	// Refuse unless the image's signed provenance names this builder (the --builder-id publish recorded). Empty: not checked.
	// +optional
	expectBuilder string,
	// Refuse unless the provenance names this source revision, e.g. $(resources.pipeline.ci.sourceCommit). Empty: not checked.
	// +optional
	expectSourceRevision string,
	// Promote without a valid signed SBOM. For emergencies; the record says so.
	// +optional
	allowNoSbom bool,
	// Promote without signed build provenance (not with --expect-builder or --expect-source-revision). For emergencies; the record says so.
	// +optional
	allowNoProvenance bool,
) (*Promotion, error) {
	ctr, err := m.toolContainer(ctx)
	if err != nil {
		return nil, err
	}
	ctr, signing := withSigning(ctr, signingKey, signingKeyPassword, kmsKey, azureCredentials{azureTenantId, azureClientId, azureClientSecret})
	opts := cmdline.PromoteOptions{
		From: from, To: to,
		SourcePublicKey: keysDir + "/source.pub",
		Signing:         signing, AllowUnaccepted: allowUnaccepted, PlainHTTP: plainHttp, RecordFile: recordFile,
		RefFile:       refFile,
		ExpectBuilder: expectBuilder, ExpectSourceRevision: expectSourceRevision,
		AllowNoSBOM: allowNoSbom, AllowNoProvenance: allowNoProvenance,
	}
	ctr = ctr.WithFile(opts.SourcePublicKey, sourcePublicKey)
	if acceptancePublicKey != nil {
		opts.AcceptancePublicKey = keysDir + "/acceptance.pub"
		ctr = ctr.WithFile(opts.AcceptancePublicKey, acceptancePublicKey)
	}
	args, err := cmdline.PromoteArgs("release", opts)
	if err != nil {
		return nil, err
	}
	src, err := imageref.ParseDigestRef("from", from)
	if err != nil {
		return nil, err
	}
	ctr = withOptionalSecret(ctr, "REGISTRY_USERNAME", sourceUsername)
	ctr = withOptionalSecret(ctr, "REGISTRY_PASSWORD", sourcePassword)
	ctr = withOptionalSecret(ctr, "TARGET_REGISTRY_USERNAME", targetUsername)
	ctr = withOptionalSecret(ctr, "TARGET_REGISTRY_PASSWORD", targetPassword)
	ctr = withRegistryService(ctr, src.Registry(), sourceRegistryService)
	ctr = withRegistryService(ctr, imageref.Registry(to), targetRegistryService)
	ctr = withNonce(ctr).WithExec(args)
	out, err := ctr.File(refFile).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote %s to %s: %w", src, to, err)
	}
	prod, err := imageref.ParseDigestRef("ref-file", out)
	if err != nil {
		return nil, fmt.Errorf("promote returned an unusable production reference: %w", err)
	}
	if prod.Digest != src.Digest {
		return nil, fmt.Errorf("promote returned %s whose digest differs from %s: the image was not copied by digest", prod, src)
	}
	return &Promotion{Ref: prod.String(), Record: ctr.File(recordFile)}, nil
}

// ImageRef reads the digest-pinned reference publish returned from a file
// (the image-ref artifact of a CI run), checks that it is pinned to a digest
// and returns it, so a CD run starts from exactly the image CI published.
// Default function caching (up to 7 days): it only reads its argument.
func (m *Pipeline) ImageRef(
	ctx context.Context,
	// File holding the reference (registry/repo@sha256:...), e.g. the CI run's image-ref artifact.
	file *dagger.File,
) (string, error) {
	data, err := file.Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("--file: %w", err)
	}
	ref, err := imageref.ParseDigestRef("file", data)
	if err != nil {
		return "", err
	}
	return ref.String(), nil
}

// buildParameters are the inputs of the build recorded in the provenance:
// what was built for which platforms with which Go image.
func (m *Pipeline) buildParameters(ctx context.Context) []string {
	var params []string
	if svc, err := m.settings(ctx); err == nil {
		params = append(params, "main="+svc.ModulePath(svc.Main), "binary="+svc.Binary, "platforms="+strings.Join(svc.Platforms, ","))
		if img, err := m.serviceGoImage(ctx, svc); err == nil {
			params = append(params, "goImage="+img)
		}
	}
	return params
}
