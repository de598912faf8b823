package render_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-aks/pipeline/internal/render"
)

// A service whose container and image placeholder share its own name (not
// ImageName) is pinned too; a bare image under another name is refused.
func TestRenderPinsContainerNamedPlaceholder(t *testing.T) {
	const pdigest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"
	for _, tc := range []struct {
		name, container, image, wantErr string
	}{
		{name: "own name", container: "greeter", image: "greeter"},
		{name: "other bare image", container: "greeter", image: "nginx", wantErr: `image "nginx" is not pinned to a digest`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
				"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: greeter
spec:
  selector:
    matchLabels: {app: greeter}
  template:
    metadata:
      labels: {app: greeter}
    spec:
      containers:
        - name: ` + tc.container + `
          image: ` + tc.image + `
`,
				"overlays/staging/kustomization.yaml": "namespace: staging\nresources:\n  - ../../base\n",
			}
			for p, c := range files {
				if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			res, err := render.Render(context.Background(), render.Options{Dir: dir, Environment: "staging", Image: "registry.example/greeter@" + pdigest})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Render error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := "image: registry.example/greeter@" + pdigest
			if !strings.Contains(string(res.YAML), want) || !strings.Contains(string(res.YAML), "namespace: staging") {
				t.Fatalf("rendered YAML lacks %q or the namespace:\n%s", want, res.YAML)
			}
			if len(res.Objects) != 1 {
				t.Fatalf("rendered %d objects, want 1", len(res.Objects))
			}
		})
	}
}
