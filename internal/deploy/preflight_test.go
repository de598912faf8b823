package deploy

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/go-aks/pipeline/internal/render"
)

// readmeRole is the Role the README gives the pipeline identity.
func readmeRole(t *testing.T) rbacv1.Role {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no ```yaml block with the deploy Role")
	}
	var role rbacv1.Role
	if err := yaml.UnmarshalStrict(m[1], &role); err != nil {
		t.Fatalf("README.md's Role: %v", err)
	}
	return role
}

// grants flattens rules to "group/resource verb" lines.
func grants(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, g+"/"+res+" "+v)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func needLines(ps []Permission) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Group+"/"+p.rbacResource()+" "+p.Verb)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func staticMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "ServiceAccount"}, {Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
		{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, {Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
		{Group: "secrets-store.csi.x-k8s.io", Version: "v1", Kind: "SecretProviderClass"},
	} {
		m.Add(gvk, meta.RESTScopeNamespace)
	}
	return m
}

// TestREADMERoleIsWhatPreflightChecks: the README's Role grants exactly the
// permissions preflight checks for the staging and production overlays,
// no more, no less.
func TestREADMERoleIsWhatPreflightChecks(t *testing.T) {
	var needs [][]Permission
	for _, env := range []string{"staging", "production"} {
		res, err := render.Render(context.Background(), render.Options{Dir: "../../manifests", Environment: env, Image: "r.example/orders@sha256:" + strings.Repeat("ab", 32)})
		if err != nil {
			t.Fatal(err)
		}
		if len(renderedNeeds(res.Objects, staticMapper())) != 3*len(res.Objects) {
			t.Fatalf("%s: a rendered kind is missing from the test's mapper", env)
		}
		strategy := StrategyRolling
		for _, o := range res.Objects {
			if o.GetKind() == "Deployment" && o.GetAnnotations()[StrategyAnnotation] == string(StrategyCanary) {
				strategy = StrategyCanary
			}
		}
		// The README's Role is one for both environments, in namespace
		// staging for the record: compare by what is granted.
		needs = append(needs, requiredPermissions(res.Objects, staticMapper(), "staging", strategy, true, false))
	}
	got, want := grants(readmeRole(t).Rules), needLines(mergeNeeds(needs...))
	if !slices.Equal(got, want) {
		t.Errorf("README Role grants\n  %s\npreflight checks\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPermissionErrorNamesEachMissingOneAndItsRule(t *testing.T) {
	var missing []Permission
	for _, p := range mergeNeeds(deploymentNeeds("staging")) {
		if p.Group == "" {
			missing = append(missing, p) // list events, list pods
		}
	}
	err := &PermissionError{Kubeconfig: "kc", Missing: missing}
	msg := err.Error()
	for _, w := range []string{"lack 2 permission(s)", "nothing was changed", "list events in namespace staging (explain a failure)",
		"list pods in namespace staging (watch the rollout, explain a failure)",
		"# Role in namespace staging:", `- apiGroups: [""]`, `resources: ["events", "pods"]`, `verbs: ["list"]`} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	// The rules read back as RBAC rules granting exactly what is missing.
	var rules []rbacv1.PolicyRule
	body := msg[strings.Index(msg, "  - apiGroups"):]
	if err := yaml.UnmarshalStrict([]byte(body), &rules); err != nil {
		t.Fatalf("rules do not parse: %v\n%s", err, body)
	}
	if got, want := grants(rules), needLines(missing); !slices.Equal(got, want) {
		t.Errorf("rules grant %v, want %v", got, want)
	}
}

// READMERoleRules are the rules of the Role the README gives the pipeline
// identity, for the cluster tests (package deploy_test).
func READMERoleRules(t *testing.T) []rbacv1.PolicyRule { return readmeRole(t).Rules }
