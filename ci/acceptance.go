package main

import (
	"context"
	"fmt"
	"strings"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/imageref"
	"dagger/pipeline/internal/report"
)

// serviceAlias is the host name the service under test is bound as.
const serviceAlias = "service"

// acceptanceStage runs the acceptance suite against the service's image,
// built for the engine's platform and run as a Dagger service (with
// PostgreSQL when the settings ask for one).
func (m *Pipeline) acceptanceStage(ctx context.Context, dbPassword *dagger.Secret) (stageResult, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return stageResult{}, err
	}
	image, err := m.Container(ctx, "")
	if err != nil {
		return stageResult{}, err
	}
	if svc.Integration.Postgres {
		image = withServiceDatabase(image, m.postgresService(dbPassword), dbPassword)
	}
	ctr, err := m.checkContainer(ctx, svc, stageAcceptance)
	if err != nil {
		return stageResult{}, err
	}
	ctr = ctr.
		WithServiceBinding(serviceAlias, image.AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})).
		WithEnvVariable("BASE_URL", fmt.Sprintf("http://%s:%d", serviceAlias, svc.Port))
	return runCheck(ctx, ctr, "acceptance", cmdline.CheckOptions{})
}

// Acceptance runs the service's acceptance suite (settings acceptance.tag
// and acceptance.packages) against the image this source builds, run as a
// Dagger service (bound as `service`, BASE_URL=http://service:PORT), with
// PostgreSQL beside it when the settings ask for one (the service gets
// DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE and DB_PASSWORD_FILE). It
// returns the JUnit XML report, and fails when the suite fails unless
// --no-fail is set. `acceptance-test` runs the same suite against a
// deployed environment.
// Cached per session (+cache="session"), like the other checks.
// +check
// +cache="session"
func (m *Pipeline) Acceptance(
	ctx context.Context,
	// Password of the service's database, e.g. env:TEST_DB_PASSWORD. Optional: without it the database trusts every connection on the private service network.
	// +optional
	dbPassword *dagger.Secret,
	// Return the report even when the suite fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.File, error) {
	r, err := m.acceptanceStage(ctx, dbPassword)
	if err != nil {
		return nil, err
	}
	if r.stage.Failed() && !noFail {
		return nil, stageError(r)
	}
	return r.reports.File("acceptance.xml"), nil
}

// AcceptanceTest runs the service's acceptance suite against a deployed
// environment, reached by URL or as a Dagger service, and returns its
// reports: acceptance.xml (JUnit), logs/ and summary.json. On success, given
// a signing key and the image's digest reference, it attaches a signed
// attestation that the image passed acceptance in that environment, the
// record `promote` requires; the attestation signs the JUnit report of this
// very run, whose exec depends on the image's digest (IMAGE_DIGEST). It
// fails when the suite fails, unless --no-fail is set (then `check-reports`
// fails on the reports; no attestation is made).
// Never cached (+cache="never"), and its execs get a per-call input: it
// tests a live environment and writes to the registry.
// +cache="never"
func (m *Pipeline) AcceptanceTest(
	ctx context.Context,
	// Base URL of the deployed service, e.g. https://orders.staging.example.com.
	// +optional
	url string,
	// The service under test as a Dagger service, instead of --url (reached at http://service:--service-port).
	// +optional
	service *dagger.Service,
	// Port the --service listens on.
	// +optional
	// +default=8080
	servicePort int,
	// Environment the suite runs against, recorded in the attestation (one of the settings' overlays).
	// +optional
	// +default="staging"
	environment string,
	// Digest-pinned reference of the image under test; with a signing key, the attestation is attached to it.
	// +optional
	image string,
	// Cosign private key for the acceptance attestation, e.g. env:COSIGN_KEY.
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
	// Registry user name for attaching the attestation, e.g. env:ACR_USERNAME.
	// +optional
	registryUsername *dagger.Secret,
	// Registry password or token for attaching the attestation, e.g. env:ACR_PASSWORD.
	// +optional
	registryPassword *dagger.Secret,
	// Talk plain HTTP to the registry (a test registry, never production).
	// +optional
	plainHttp bool,
	// The registry as a Dagger service, bound under the host name of --image's registry.
	// +optional
	registryService *dagger.Service,
	// Return the reports even when the suite fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	switch {
	case url == "" && service == nil:
		return nil, fmt.Errorf("nothing to test: pass --url of the deployed service or --service")
	case url != "" && service != nil:
		return nil, fmt.Errorf("--url and --service are both set: pass one")
	case url != "" && !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://"):
		return nil, fmt.Errorf("--url %q is not an http(s) URL", url)
	}
	svc, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := svc.Overlay("environment", environment); err != nil {
		return nil, err
	}
	attest := signingKey != nil || kmsKey != ""
	if attest {
		// Validate the attestation's inputs before spending a test run on them.
		probe := cmdline.Signing{KMSKey: kmsKey}
		if signingKey != nil {
			probe.KeyFile = signingKeyPath
		}
		if _, err := cmdline.AttestArgs("release", image, environment, probe, "", plainHttp); err != nil {
			return nil, err
		}
	}
	ctr, err := m.checkContainer(ctx, svc, stageAcceptance)
	if err != nil {
		return nil, err
	}
	if service != nil {
		ctr = ctr.WithServiceBinding(serviceAlias, service)
		url = fmt.Sprintf("http://%s:%d", serviceAlias, servicePort)
	}
	ctr = ctr.WithEnvVariable("BASE_URL", url)
	if image != "" {
		ref, err := imageref.ParseDigestRef("image", image)
		if err != nil {
			return nil, err
		}
		// The run accepts this digest: its result is keyed on it.
		ctr = ctr.WithEnvVariable("IMAGE_DIGEST", ref.Digest).WithEnvVariable("IMAGE_REF", ref.String())
	}
	r, err := runCheck(ctx, withNonce(ctr), "acceptance", cmdline.CheckOptions{})
	if err != nil {
		return nil, err
	}
	var summary report.Summary
	summary.Add(r.stage)
	js, err := summary.JSON()
	if err != nil {
		return nil, err
	}
	reports := r.reports.WithNewFile(report.SummaryFile, js).WithNewFile(report.TextFile, summary.Text())
	if r.stage.Failed() {
		if noFail {
			return reports, nil
		}
		return nil, stageError(r)
	}
	if !attest {
		return reports, nil
	}

	rel, err := m.toolContainer(ctx)
	if err != nil {
		return nil, err
	}
	rel, signing := withSigning(rel, signingKey, signingKeyPassword, kmsKey, azureCredentials{azureTenantId, azureClientId, azureClientSecret})
	const junit = "/work/acceptance.xml"
	attestArgs, err := cmdline.AttestArgs("release", image, environment, signing, junit, plainHttp)
	if err != nil {
		return nil, err
	}
	ref, err := imageref.ParseDigestRef("image", image)
	if err != nil {
		return nil, err
	}
	rel = withOptionalSecret(rel, "REGISTRY_USERNAME", registryUsername)
	rel = withOptionalSecret(rel, "REGISTRY_PASSWORD", registryPassword)
	rel = withRegistryService(rel, ref.Registry(), registryService).
		// The report of the very run above, taken from its exec's container.
		WithFile(junit, r.ran.File(reportDir+"/acceptance.xml"))
	out, err := withNonce(rel).WithExec(attestArgs).Stdout(ctx)
	if err != nil {
		return nil, fmt.Errorf("attest acceptance of %s in %s: %w", ref, environment, err)
	}
	return reports.WithNewFile("logs/attest-acceptance.log", out), nil
}
