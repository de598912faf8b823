package main

import (
	"context"
	"fmt"
	"strings"

	"dagger/pipeline/internal/commands"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/imageref"
	"dagger/pipeline/internal/report"
)

const (
	kubeconfigPath = "/run/secrets/kubeconfig"
	kubeTokenPath  = "/run/secrets/kube-token" //nolint:gosec // a mount path, not a credential
)

// Deploy renders the environment's overlay of manifests/ with the image
// pinned by digest, validates it with a server-side dry run, applies it with
// server-side apply and waits for the rollout. A failing rollout (crash loop,
// image that cannot be pulled, unschedulable pods, readiness that never comes)
// is reported with its reasons and rolled back, and the function fails.
// Re-deploying the same digest is a no-op. Returns the deployment summary.
// +cache="never"
func (m *Pipeline) Deploy(
	ctx context.Context,
	// Kubeconfig of the target cluster, e.g. env:STAGING_KUBECONFIG or file:./kubeconfig.
	kubeconfig *dagger.Secret,
	// Target environment: staging or production (selects manifests/overlays/ENVIRONMENT).
	environment string,
	// Digest-pinned image to deploy (registry/repo@sha256:...); a tag is refused.
	image string,
	// Namespace to deploy to. Empty: the overlay's namespace.
	// +optional
	namespace string,
	// How long the rollout may take before it counts as failed.
	// +optional
	// +default="5m"
	timeout string,
	// Roll back to the previous revision when the rollout fails.
	// +optional
	// +default=true
	rollback bool,
	// Extra kustomize components to render with, paths inside manifests/ (repeatable), e.g. components/db-password-from-secret where the cluster has no Secrets Store CSI driver.
	// +optional
	component []string,
	// A cluster running as a Dagger service, bound under --cluster-host (the host name in the kubeconfig's server URL).
	// +optional
	cluster *dagger.Service,
	// Host name the kubeconfig's server URL uses for --cluster.
	// +optional
	// +default="kubernetes"
	clusterHost string,
	// Bearer token for kubeconfigs whose user reads it from /run/secrets/kube-token (tokenFile), e.g. a short-lived Entra ID token for AKS: env:AKS_TOKEN.
	// +optional
	clusterToken *dagger.Secret,
) (string, error) {
	args, err := commands.DeployArgs("deploy", commands.DeployOptions{
		Kubeconfig: kubeconfigPath, Manifests: srcDir + "/manifests", Environment: environment, Image: image,
		Namespace: namespace, Timeout: timeout, Rollback: rollback, Components: component,
	})
	if err != nil {
		return "", err
	}
	ctr, err := m.toolContainer(ctx, "deploy")
	if err != nil {
		return "", err
	}
	ctr = ctr.
		WithDirectory(srcDir+"/manifests", m.Source.Directory("manifests")).
		WithMountedSecret(kubeconfigPath, kubeconfig)
	if clusterToken != nil {
		ctr = ctr.WithMountedSecret(kubeTokenPath, clusterToken)
	}
	if cluster != nil {
		ctr = ctr.WithServiceBinding(clusterHost, cluster)
	}
	summary, err := ctr.WithExec(args).Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("deploy %s to %s: %w", image, environment, err)
	}
	return summary, nil
}

// AcceptanceTest runs the service's acceptance suite (app/acceptance) against
// a deployed environment, reached by URL or as a Dagger service, and returns
// its reports: acceptance.xml (JUnit), logs/ and summary.json. On success,
// given a signing key and the image's digest reference, it attaches a signed
// attestation that the image passed acceptance in that environment, the
// record `promote` requires. It fails when the suite fails, unless --no-fail
// is set (then `check-reports` fails on the reports; no attestation is made).
// +cache="never"
func (m *Pipeline) AcceptanceTest(
	ctx context.Context,
	// Base URL of the deployed service, e.g. https://orders.staging.example.com.
	// +optional
	url string,
	// The service under test as a Dagger service, instead of --url (reached at http://orders:--service-port).
	// +optional
	service *dagger.Service,
	// Port the --service listens on.
	// +optional
	// +default=8080
	servicePort int,
	// Environment the suite runs against, recorded in the attestation.
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
	attest := signingKey != nil || kmsKey != ""
	if attest {
		// Validate the attestation's inputs before spending a test run on them.
		probe := commands.Signing{KMSKey: kmsKey}
		if signingKey != nil {
			probe.KeyFile = signingKeyPath
		}
		if _, err := commands.AttestArgs("release", image, environment, probe, "", plainHttp); err != nil {
			return nil, err
		}
	}
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return nil, err
	}
	if service != nil {
		ctr = ctr.WithServiceBinding("orders", service)
		url = fmt.Sprintf("http://orders:%d", servicePort)
	}
	r, err := runStage(ctx, ctr.WithEnvVariable("BASE_URL", url), "acceptance")
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

	rel, err := m.toolContainer(ctx, "release")
	if err != nil {
		return nil, err
	}
	rel, signing := withSigning(rel, signingKey, signingKeyPassword, kmsKey, azureCredentials{azureTenantId, azureClientId, azureClientSecret})
	attestArgs, err := commands.AttestArgs("release", image, environment, signing, "/work/acceptance.xml", plainHttp)
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
		WithFile("/work/acceptance.xml", reports.File("acceptance.xml")).
		WithExec(attestArgs)
	out, err := rel.Stdout(ctx)
	if err != nil {
		return nil, fmt.Errorf("attest acceptance of %s in %s: %w", ref, environment, err)
	}
	return reports.WithNewFile("logs/attest-acceptance.log", out), nil
}
