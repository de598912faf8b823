package rehearsal

import (
	"context"
	"strings"
	"testing"

	"github.com/go-aks/pipeline/internal/render"
)

func TestLoadService(t *testing.T) {
	for _, tc := range []struct {
		dir, name, module, main, manifests, accPackages, accTag string
	}{
		{dir: "../..", name: "orders", module: "app", main: "./cmd/orders", manifests: "manifests", accPackages: "./acceptance/...", accTag: "acceptance"},
		{dir: "testdata/services/greeter", name: "greeter", module: ".", main: ".", manifests: "deploy/k8s", accPackages: "./e2e/...", accTag: "greeter_acceptance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := LoadService(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			s := svc.Settings
			if svc.Name() != tc.name || s.Module != tc.module || s.Main != tc.main || s.Manifests != tc.manifests ||
				s.Acceptance.Packages != tc.accPackages || s.Acceptance.Tag != tc.accTag || svc.SettingsFile == "" {
				t.Fatalf("LoadService(%s) = %+v (name %s)", tc.dir, svc, svc.Name())
			}
			// Each environment's overlay renders with the image pinned and
			// the namespace set.
			const ref = "registry.example/svc@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			for _, environment := range []string{"staging", "production"} {
				res, err := render.Render(context.Background(), render.Options{Dir: svc.ManifestsDir(), Environment: environment, Image: ref})
				if err != nil {
					t.Fatalf("render %s: %v", environment, err)
				}
				if !strings.Contains(string(res.YAML), "image: "+ref) {
					t.Errorf("render %s: image not pinned", environment)
				}
				for _, o := range res.Objects {
					if o.GetNamespace() != environment {
						t.Errorf("render %s: %s/%s in namespace %q", environment, o.GetKind(), o.GetName(), o.GetNamespace())
					}
				}
			}
		})
	}
}

func TestLoadServiceErrors(t *testing.T) {
	if _, err := LoadService(t.TempDir()); err == nil || !strings.Contains(err.Error(), "read its go.mod") {
		t.Fatalf("LoadService of a directory without go.mod: %v, want the go.mod named", err)
	}
}

// A fault that changes a file of the orders service fails clearly for a
// service without that file.
func TestFaultForAnotherService(t *testing.T) {
	svc, err := LoadService("testdata/services/greeter")
	if err != nil {
		t.Fatal(err)
	}
	r := &Rehearsal{}
	_, err = r.faultOverlay(svc, FaultAcceptance, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "service greeter has no") || !strings.Contains(err.Error(), "internal/httpapi/httpapi.go") {
		t.Fatalf("fault acceptance for greeter: %v, want the missing file named", err)
	}
	orders, err := LoadService("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.faultOverlay(orders, FaultAcceptance, t.TempDir()); err != nil {
		t.Fatalf("fault acceptance for orders: %v", err)
	}
}
