package main

import (
	"context"
	"fmt"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
)

const (
	kubeconfigPath = "/run/secrets/kubeconfig"
	kubeTokenPath  = "/run/secrets/kube-token"       //nolint:gosec // a mount path, not a credential
	promTokenPath  = "/run/secrets/prometheus-token" //nolint:gosec // a mount path, not a credential
)

// promTokenFile is where deploy reads the Prometheus token, when one is given.
func promTokenFile(token *dagger.Secret) string {
	if token == nil {
		return ""
	}
	return promTokenPath
}

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
	// Rollout strategy: rolling, or canary (a few pods of the new digest beside the stable ones, judged by the service's own metrics before the rest). Empty: the overlay's default (annotation deploy.go-aks.io/strategy; production's is canary).
	// +optional
	strategy string,
	// Canary: pods of the new digest during the analysis. 0: deploy's default, 1.
	// +optional
	canaryReplicas int,
	// Canary analysis window, e.g. 2m. Empty: deploy's default, 2m.
	// +optional
	canaryWindow string,
	// How often the canary's metrics are read, e.g. 10s (an error ratio past the threshold stops it early). Empty: 10s.
	// +optional
	canaryInterval string,
	// How much higher than the stable pods' 5xx ratio the canary's may be (0.01 = 1 percentage point). 0: 0.01.
	// +optional
	canaryMaxErrorRatio float64,
	// How many times the stable pods' p99 latency the canary's may be. 0: 1.5.
	// +optional
	canaryMaxP99Ratio float64,
	// p99 differences below this never fail the canary, e.g. 10ms. Empty: 10ms.
	// +optional
	canaryLatencyFloor string,
	// Requests the canary must serve in the window; fewer fails it (too little traffic is not a pass). 0: 100.
	// +optional
	canaryMinRequests int,
	// Prometheus-compatible query endpoint the canary reads the metrics from, e.g. the Azure Monitor managed Prometheus query URL. Empty: the pods' /metrics through the API server.
	// +optional
	prometheusUrl string,
	// Bearer token for --prometheus-url, e.g. env:PROM_TOKEN.
	// +optional
	prometheusToken *dagger.Secret,
	// After SIGTERM (a cancelled job), how long a rollback that is due may still run, e.g. 20s. Empty: 20s.
	// +optional
	interruptGrace string,
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
		Strategy: strategy, Canary: cmdline.Canary{Replicas: canaryReplicas, Window: canaryWindow, Interval: canaryInterval,
			MaxErrorRatio: canaryMaxErrorRatio, MaxP99Ratio: canaryMaxP99Ratio, LatencyFloor: canaryLatencyFloor, MinRequests: canaryMinRequests},
		PrometheusURL: prometheusUrl, PrometheusTokenFile: promTokenFile(prometheusToken), InterruptGrace: interruptGrace,
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
	if prometheusToken != nil {
		ctr = ctr.WithMountedSecret(promTokenPath, prometheusToken)
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
