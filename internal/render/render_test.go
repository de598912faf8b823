package render_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/go-aks/pipeline/internal/render"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func manifests(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../manifests")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func find(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

func TestRenderEnvironments(t *testing.T) {
	tests := []struct {
		env, namespace string
		components     []string
		wantKinds      []string
		wantVolume     string // "secret" or "csi"
		wantMinRepl    int64
	}{
		{env: "staging", namespace: "staging", wantVolume: "secret", wantMinRepl: 2,
			wantKinds: []string{"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}},
		{env: "production", namespace: "production", wantVolume: "csi", wantMinRepl: 3,
			wantKinds: []string{"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy", "SecretProviderClass"}},
		{env: "production", namespace: "production", components: []string{"components/db-password-from-secret"}, wantVolume: "secret", wantMinRepl: 3,
			wantKinds: []string{"ServiceAccount", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.env+strings.Join(tc.components, ","), func(t *testing.T) {
			res, err := render.Render(context.Background(), render.Options{
				Dir: manifests(t), Environment: tc.env, Image: "registry.example/orders@" + digest, Components: tc.components,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Objects) != len(tc.wantKinds) {
				t.Errorf("got %d objects, want %d (%v)", len(res.Objects), len(tc.wantKinds), tc.wantKinds)
			}
			for _, k := range tc.wantKinds {
				o := find(res.Objects, k)
				if o == nil {
					t.Errorf("no %s rendered", k)
					continue
				}
				if o.GetNamespace() != tc.namespace {
					t.Errorf("%s namespace %q, want %q", k, o.GetNamespace(), tc.namespace)
				}
				if o.GetLabels()["app.kubernetes.io/name"] != "orders" || o.GetLabels()["app.kubernetes.io/instance"] != "orders-"+tc.env {
					t.Errorf("%s labels %v lack the recommended app.kubernetes.io labels", k, o.GetLabels())
				}
			}
			dep := find(res.Objects, "Deployment")
			containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
			img := containers[0].(map[string]any)["image"]
			if img != "registry.example/orders@"+digest {
				t.Errorf("image %v, want the digest reference", img)
			}
			if res.Image != "registry.example/orders@"+digest {
				t.Errorf("Result.Image %q", res.Image)
			}
			vols, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
			var dbVol map[string]any
			for _, v := range vols {
				if v.(map[string]any)["name"] == "db-password" {
					dbVol = v.(map[string]any)
				}
			}
			if _, ok := dbVol[tc.wantVolume]; !ok || len(dbVol) != 2 {
				t.Errorf("db-password volume %v, want only a %s source", dbVol, tc.wantVolume)
			}
			if _, ok, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); ok {
				t.Error("Deployment sets spec.replicas; the HPA must own it")
			}
			hpa := find(res.Objects, "HorizontalPodAutoscaler")
			if n, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "minReplicas"); n != tc.wantMinRepl {
				t.Errorf("HPA minReplicas %d, want %d", n, tc.wantMinRepl)
			}
			if strings.Contains(string(res.YAML), "password:") && !strings.Contains(string(res.YAML), "path: password") {
				t.Error("rendered YAML seems to carry a password value")
			}
		})
	}
}

func TestRenderNamespaceOverride(t *testing.T) {
	res, err := render.Render(context.Background(), render.Options{Dir: manifests(t), Environment: "staging", Image: "r.example/o@" + digest, Namespace: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if o.GetNamespace() != "team-a" {
			t.Errorf("%s/%s in namespace %q, want team-a", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
}

func TestRenderRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		opts    render.Options
		wantErr string
	}{
		{"tag", render.Options{Environment: "staging", Image: "registry.example/orders:1.2.3"}, "not pinned to a digest"},
		{"latest implicit", render.Options{Environment: "staging", Image: "registry.example/orders"}, "not pinned to a digest"},
		{"empty image", render.Options{Environment: "staging"}, "--image is empty"},
		{"short digest", render.Options{Environment: "staging", Image: "registry.example/orders@sha256:abc"}, "is not sha256:<64 lower-case hex digits>"},
		{"tag and digest", render.Options{Environment: "staging", Image: "registry.example/orders:v1@" + digest}, "carries both a tag and a digest"},
		{"docker hub shorthand", render.Options{Environment: "staging", Image: "orders@" + digest}, "is not a repository REGISTRY/REPO"},
		{"unknown environment", render.Options{Environment: "qa", Image: "r.example/o@" + digest}, "no overlay"},
		{"bad environment", render.Options{Environment: "../base", Image: "r.example/o@" + digest}, "not a valid overlay name"},
		{"component outside", render.Options{Environment: "staging", Image: "r.example/o@" + digest, Components: []string{"../x"}}, "must be a path inside"},
		{"missing component", render.Options{Environment: "staging", Image: "r.example/o@" + digest, Components: []string{"components/nope"}}, "no kustomization.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dir = manifests(t)
			_, err := render.Render(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
