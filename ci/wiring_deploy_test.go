package main

import (
	"context"
	"strings"
	"testing"
)

func deployOnce(t *testing.T) {
	t.Helper()
	_, err := pipeline().Deploy(context.Background(), secret("kubeconfig", "apiVersion: v1\nkind: Config\n# kc-31f0"), "staging", testDigestRef,
		"orders", "5m", true, []string{"components/db-password-from-secret"},
		dag.Container().From("rancher/k3s:v1.34.1-k3s1").AsService(), "kubernetes", secret("aks-token", "token-8c1b"))
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeployRunsPerCall: the deploy command gets the kubeconfig and token as
// mounted secrets and the cluster as a bound service, sees only the
// manifests, and two identical calls deploy twice.
func TestDeployRunsPerCall(t *testing.T) {
	script(t, baseRules()...)
	deployOnce(t)
	deployOnce(t)
	ds := execs("deploy", "apply")
	if len(ds) != 2 {
		t.Fatalf("two identical deploy calls gave %d distinct deploy execs, want 2 (the second was served from cache)", len(ds))
	}
	e := ds[0]
	for _, want := range []string{"--kubeconfig " + kubeconfigPath, "--environment staging", "--image " + testDigestRef,
		"--namespace orders", "--rollback=true", "--component components/db-password-from-secret"} {
		if !strings.Contains(strings.Join(e.Args, " "), want) {
			t.Errorf("deploy exec %q lacks %s", e.Args, want)
		}
	}
	for _, want := range []string{
		`withMountedSecret(path:"` + kubeconfigPath + `",source:<loadSecretFromID(id:"enginerec-secret:kubeconfig")>)`,
		`withMountedSecret(path:"` + kubeTokenPath + `",source:<loadSecretFromID(id:"enginerec-secret:aks-token")>)`,
		`withServiceBinding(alias:"kubernetes",service:<container.from(address:"rancher/k3s:v1.34.1-k3s1").asService>)`,
	} {
		if !strings.Contains(e.Identity, want) {
			t.Errorf("deploy exec lacks %s", want)
		}
	}
	if strings.Contains(e.Identity, `withMountedDirectory(path:"/src"`) {
		t.Errorf("the deploy container sees the whole source")
	}
	if name, _ := envBeforeExec(e.Chain); name == "" {
		t.Errorf("the deploy exec has no per-call input right before it")
	}
	noLeaks(t)
}
