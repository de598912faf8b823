package main

import (
	"context"
	"fmt"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
)

const (
	kubeconfigPath = "/run/secrets/kubeconfig"
	kubeTokenPath  = "/run/secrets/kube-token" //nolint:gosec // a mount path, not a credential
)

// Deploy renders the environment's overlay of the service's manifests (settings manifests and overlays) with the image
// pinned by digest, validates it with a server-side dry run, applies it with
// server-side apply and waits for the rollout. A failing rollout (crash loop,
// image that cannot be pulled, unschedulable pods, readiness that never comes)
// is reported with its reasons and rolled back, and the function fails.
// Re-deploying the same digest is a no-op. Returns the deployment summary.
// The deploy container sees only the service's manifests, never the rest of
// its source. Never cached (+cache="never"), and the deploy exec gets a
// per-call input: it changes a cluster.
// +cache="never"
func (m *Pipeline) Deploy(
	ctx context.Context,
	// Kubeconfig of the target cluster, e.g. env:STAGING_KUBECONFIG or file:./kubeconfig.
	kubeconfig *dagger.Secret,
	// Target environment, one of the settings' overlays (by default staging or production: manifests/overlays/ENVIRONMENT).
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
	// Extra kustomize components to render with, paths inside the manifests directory (repeatable), e.g. components/db-password-from-secret where the cluster has no Secrets Store CSI driver.
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
	svc, err := m.settings(ctx)
	if err != nil {
		return "", err
	}
	manifests, err := deployManifests(m.manifestsSource(svc), svc, environment)
	if err != nil {
		return "", err
	}
	args, err := cmdline.DeployArgs("deploy", cmdline.DeployOptions{
		Kubeconfig: kubeconfigPath, Manifests: deployDir, Environment: environment, Image: image,
		Namespace: namespace, Timeout: timeout, Rollback: rollback, Components: manifests.components(component),
	})
	if err != nil {
		return "", err
	}
	ctr, err := m.toolContainer(ctx)
	if err != nil {
		return "", err
	}
	ctr = ctr.
		WithDirectory(deployDir, manifests.dir).
		WithMountedSecret(kubeconfigPath, kubeconfig)
	if clusterToken != nil {
		ctr = ctr.WithMountedSecret(kubeTokenPath, clusterToken)
	}
	if cluster != nil {
		ctr = ctr.WithServiceBinding(clusterHost, cluster)
	}
	summary, err := withNonce(ctr).WithExec(args).Stdout(ctx)
	if err != nil {
		return "", fmt.Errorf("deploy %s to %s: %w", image, environment, err)
	}
	return summary, nil
}
