//go:build e2e

package rehearsal_test

import (
	"testing"

	"github.com/go-aks/pipeline/internal/rehearsal"
	"github.com/go-aks/pipeline/internal/testenv/env"
)

// TestSecondServiceReleasePath releases the greeter fixture — another Go
// module, main package at its root, manifests in deploy/k8s, its own
// acceptance suite and tag — through publish -> staging -> acceptance ->
// promote -> production on the shared environment, with nothing special to
// it, and checks production's pods run the promoted digest.
func TestSecondServiceReleasePath(t *testing.T) {
	ctx := testContext(t)
	from := len(r.Stages())
	rel, err := r.Run(ctx, greeter, rehearsal.BuildOptions{})
	if err != nil {
		t.Fatalf("the greeter's release path failed: %v", err)
	}
	src, dst := mustDigest(t, rel.NonProd), mustDigest(t, rel.Prod)
	if src.Context().String() != r.NonProdRepository(greeter) || dst.Context().String() != r.ProdRepository(greeter) {
		t.Fatalf("references %s and %s are not in the greeter's repositories", src, dst)
	}
	if src.DigestStr() != dst.DigestStr() {
		t.Fatalf("promoted digest %s differs from the published %s", dst.DigestStr(), src.DigestStr())
	}
	// The greeter's own suite (3 tests, tag greeter_acceptance) ran, not orders'.
	if s := rel.Acceptance.Suite; s.Tests != 3 || s.Failures+s.Errors != 0 {
		t.Errorf("acceptance suite: %+v, want the greeter's 3 passing tests", s)
	}
	for _, c := range []struct{ ns, ref string }{{env.Staging, rel.NonProd}, {env.Production, rel.Prod}} {
		pods, err := r.PodImages(ctx, greeter, c.ns)
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, p := range pods {
			if p.Spec != c.ref || p.Digest != dst.DigestStr() {
				t.Errorf("%s greeter pod %s runs %s (image id %s), want %s", c.ns, p.Pod, p.Spec, p.ImageID, c.ref)
			}
			if p.Ready {
				ready++
			}
		}
		if ready == 0 {
			t.Errorf("no ready greeter pod in %s", c.ns)
		}
	}
	want := []string{"build", "publish", "deploy staging", "acceptance staging", "attest acceptance", "promote", "deploy production", "verify production"}
	stages := r.Stages()[from:]
	if len(stages) != len(want) {
		t.Fatalf("ran %d stages, want %d (%v)", len(stages), len(want), want)
	}
	for i, s := range stages {
		if s.Name != want[i] || s.Service != "greeter" || !s.OK() || s.Digest != dst.DigestStr() {
			t.Errorf("stage %d = %s/%s ok=%t digest %s, want greeter/%s ok on %s", i, s.Service, s.Name, s.OK(), s.Digest, want[i], dst.DigestStr())
		}
	}
}
