package deps

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServiceGraphHasNoPipelineTools runs `go mod graph` for the app module
// and fails when a module of the pipeline's tools is in it.
func TestServiceGraphHasNoPipelineTools(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "mod", "graph").Output()
	if err != nil {
		t.Fatalf("go mod graph: %v", err)
	}
	graph := string(out)
	if !strings.HasPrefix(graph, "github.com/go-aks/pipeline/app ") {
		t.Fatalf("go mod graph does not start at the app module:\n%.300s", graph)
	}
	for _, mod := range []string{"github.com/sigstore/cosign", "k8s.io/client-go", "sigs.k8s.io/kustomize", "github.com/google/go-containerregistry", "dagger.io/dagger"} {
		if strings.Contains(graph, mod) {
			t.Errorf("the service's module graph carries %s: it belongs to the pipeline's tools", mod)
		}
	}
}
