package deploy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Permission is one request deploy makes, as the API server authorizes it.
type Permission struct {
	Verb     string `json:"verb"`
	Group    string `json:"group"`
	Resource string `json:"resource"`
	// Subresource is e.g. "proxy" of pods/proxy.
	Subresource string `json:"subresource,omitempty"`
	// Namespace is empty for cluster-scoped resources.
	Namespace string `json:"namespace,omitempty"`
	// Name limits the permission to one object (RBAC resourceNames).
	Name string `json:"name,omitempty"`
	// Why says what deploy needs it for (apply, watch, diagnose, roll back, ...).
	Why []string `json:"why"`
	// DryRun marks what --dry-run needs too (the reads before the dry run
	// and the apply itself).
	DryRun bool `json:"dryRun,omitempty"`
}

// rbacResource is the resource as an RBAC rule names it (pods/proxy).
func (p Permission) rbacResource() string {
	if p.Subresource != "" {
		return p.Resource + "/" + p.Subresource
	}
	return p.Resource
}

func (p Permission) String() string {
	res := p.rbacResource()
	if p.Group != "" {
		res += "." + p.Group
	}
	if p.Name != "" {
		res += " named " + p.Name
	}
	where := "at the cluster scope"
	if p.Namespace != "" {
		where = "in namespace " + p.Namespace
	}
	return fmt.Sprintf("%s %s %s (%s)", p.Verb, res, where, strings.Join(p.Why, ", "))
}

// What deploy needs each permission for.
const (
	whyApply    = "apply"
	whyRead     = "read the running revision"
	whyWatch    = "watch the rollout"
	whyDiagnose = "explain a failure"
	whyRollback = "roll back"
	whyPrune    = "prune what left the manifests"
	whyHealth   = "judge its health (kstatus)"
	whyCanary   = "run and judge the canary"
)

// renderedNeeds are the permissions to server-side apply each rendered
// object (a dry run and the apply are both "patch"; an apply that creates
// the object needs "create" too).
func renderedNeeds(objs []*unstructured.Unstructured, rm meta.RESTMapper) []Permission {
	var out []Permission
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := rm.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue // the dry run names kinds the cluster does not serve
		}
		ns := ""
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ns = o.GetNamespace()
		}
		for _, verb := range []string{"patch", "create"} {
			out = append(out, Permission{Verb: verb, Group: m.Resource.Group, Resource: m.Resource.Resource, Namespace: ns, Why: []string{whyApply}, DryRun: true})
		}
		out = append(out, Permission{Verb: "get", Group: m.Resource.Group, Resource: m.Resource.Resource, Namespace: ns, Why: []string{whyHealth}})
	}
	return out
}

// renderedResources are the namespaced resources of the rendered objects,
// each once (what pruning lists and deletes).
func renderedResources(objs []*unstructured.Unstructured, rm meta.RESTMapper) []schema.GroupResource {
	var out []schema.GroupResource
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := rm.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil || m.Scope.Name() != meta.RESTScopeNameNamespace {
			continue
		}
		if !slices.Contains(out, m.Resource.GroupResource()) {
			out = append(out, m.Resource.GroupResource())
		}
	}
	return out
}

// deploymentNeeds are the fixed permissions of watching, diagnosing and
// rolling back the Deployment in namespace ns. Other strategies (pruning,
// canaries) add theirs to the list that preflight checks.
func deploymentNeeds(ns string) []Permission {
	return []Permission{
		{Verb: "get", Group: "apps", Resource: "deployments", Namespace: ns, Why: []string{whyRead, whyWatch}, DryRun: true},
		{Verb: "list", Group: "apps", Resource: "replicasets", Namespace: ns, Why: []string{whyRead, whyWatch, whyRollback}, DryRun: true},
		{Verb: "list", Group: "", Resource: "pods", Namespace: ns, Why: []string{whyWatch, whyDiagnose}},
		{Verb: "list", Group: "", Resource: "events", Namespace: ns, Why: []string{whyDiagnose}},
		{Verb: "patch", Group: "apps", Resource: "deployments", Namespace: ns, Why: []string{whyRollback}},
	}
}

// mergeNeeds folds duplicates together (their reasons joined), in a stable
// order: by namespace, group, resource, verb.
func mergeNeeds(ps ...[]Permission) []Permission {
	idx := map[string]int{}
	var out []Permission
	for _, list := range ps {
		for _, p := range list {
			k := strings.Join([]string{p.Namespace, p.Group, p.rbacResource(), p.Name, p.Verb}, "\x00")
			i, ok := idx[k]
			if !ok {
				idx[k] = len(out)
				p.Why = slices.Clone(p.Why)
				out = append(out, p)
				continue
			}
			for _, w := range p.Why {
				if !slices.Contains(out[i].Why, w) {
					out[i].Why = append(out[i].Why, w)
				}
			}
			out[i].DryRun = out[i].DryRun || p.DryRun
		}
	}
	slices.SortStableFunc(out, func(a, b Permission) int {
		return strings.Compare(a.Namespace+"\x00"+a.Group+"\x00"+a.rbacResource()+"\x00"+a.Name+"\x00"+a.Verb,
			b.Namespace+"\x00"+b.Group+"\x00"+b.rbacResource()+"\x00"+b.Name+"\x00"+b.Verb)
	})
	return out
}

// PermissionError says the credentials lack permissions deploy needs; it is
// returned before anything is changed.
type PermissionError struct {
	Kubeconfig string
	Missing    []Permission
}

func (e *PermissionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the credentials in --kubeconfig %s lack %d permission(s) deploy needs; nothing was changed:", e.Kubeconfig, len(e.Missing))
	for _, p := range e.Missing {
		b.WriteString("\n  - " + p.String())
	}
	b.WriteString("\ngrant them with these rules in the deploy identity's Role:\n")
	b.WriteString(RoleRules(e.Missing))
	return strings.TrimRight(b.String(), "\n")
}

// RoleRules renders permissions as RBAC rules (one per API group and verb
// set, per namespace), indented for a Role's "rules:".
func RoleRules(ps []Permission) string {
	type rule struct {
		ns, group, verbs string
		resources        []string
		names            []string
	}
	// resource -> verbs, per namespace and group
	type gk struct{ ns, group, resource, name string }
	verbs := map[gk][]string{}
	var order []gk
	for _, p := range ps {
		k := gk{p.Namespace, p.Group, p.rbacResource(), p.Name}
		if _, ok := verbs[k]; !ok {
			order = append(order, k)
		}
		if !slices.Contains(verbs[k], p.Verb) {
			verbs[k] = append(verbs[k], p.Verb)
		}
	}
	var rules []*rule
	for _, k := range order {
		v := slices.Clone(verbs[k])
		slices.Sort(v)
		vs := strings.Join(v, ",")
		var r *rule
		for _, x := range rules {
			if x.ns == k.ns && x.group == k.group && x.verbs == vs && (len(x.names) == 0) == (k.name == "") {
				r = x
				break
			}
		}
		if r == nil {
			r = &rule{ns: k.ns, group: k.group, verbs: vs}
			rules = append(rules, r)
		}
		if !slices.Contains(r.resources, k.resource) {
			r.resources = append(r.resources, k.resource)
		}
		if k.name != "" && !slices.Contains(r.names, k.name) {
			r.names = append(r.names, k.name)
		}
	}
	quote := func(s []string) string {
		q := make([]string, len(s))
		for i, x := range s {
			q[i] = strconv.Quote(x)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var b strings.Builder
	lastNS := "\x00"
	for _, r := range rules {
		if r.ns != lastNS {
			if r.ns == "" {
				b.WriteString("  # a ClusterRole (cluster-scoped resources):\n")
			} else {
				fmt.Fprintf(&b, "  # Role in namespace %s:\n", r.ns)
			}
			lastNS = r.ns
		}
		fmt.Fprintf(&b, "  - apiGroups: %s\n    resources: %s\n", quote([]string{r.group}), quote(r.resources))
		if len(r.names) > 0 {
			fmt.Fprintf(&b, "    resourceNames: %s\n", quote(r.names))
		}
		fmt.Fprintf(&b, "    verbs: %s\n", quote(strings.Split(r.verbs, ",")))
	}
	return b.String()
}

// needs is everything this deploy will ask the API server for.
func (d *deployer) needs(objs []*unstructured.Unstructured, ns string, strategy Strategy) []Permission {
	return requiredPermissions(objs, d.rm, ns, strategy, d.opts.Canary.PrometheusURL == "", d.opts.DryRunOnly)
}

// requiredPermissions is everything a deploy of objs to namespace ns needs:
// apply, read, watch, diagnose, roll back, prune, and with the canary
// strategy run and judge the canary (its metrics through pods/proxy unless a
// Prometheus endpoint is given). A dry run needs only what it reads and the
// apply.
func requiredPermissions(objs []*unstructured.Unstructured, rm meta.RESTMapper, ns string, strategy Strategy, viaPodsProxy, dryRun bool) []Permission {
	lists := [][]Permission{renderedNeeds(objs, rm), deploymentNeeds(ns), PrunePermissions(ns, renderedResources(objs, rm))}
	if strategy == StrategyCanary {
		lists = append(lists, CanaryPermissions(ns, viaPodsProxy))
	}
	all := mergeNeeds(lists...)
	if !dryRun {
		return all
	}
	var out []Permission
	for _, p := range all {
		if p.DryRun {
			out = append(out, p)
		}
	}
	return out
}

// preflight asks the API server (SelfSubjectAccessReview, the authorizer's
// own answer, whatever its mode: RBAC, Azure RBAC webhook, ...) about every
// permission in needs, before anything is changed, and refuses with the
// complete list of what is missing.
func (d *deployer) preflight(ctx context.Context, needs []Permission) error {
	type answer struct {
		allowed bool
		err     error
	}
	answers := make([]answer, len(needs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, p := range needs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := d.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource, Name: p.Name,
				}},
			}, metav1.CreateOptions{})
			if err != nil {
				answers[i] = answer{err: err}
				return
			}
			answers[i] = answer{allowed: r.Status.Allowed}
		}()
	}
	wg.Wait()
	var missing []Permission
	for i, a := range answers {
		if a.err != nil {
			return fmt.Errorf("check the permissions deploy needs (SelfSubjectAccessReview, allowed to every authenticated user by the default system:basic-user role): %s; nothing was changed", d.red.clean(explainAPIError(a.err)))
		}
		if !a.allowed {
			missing = append(missing, needs[i])
		}
	}
	if len(missing) > 0 {
		return &PermissionError{Kubeconfig: d.opts.Kubeconfig, Missing: missing}
	}
	d.log.InfoContext(ctx, "preflight: the credentials hold every permission deploy needs", "checked", len(needs))
	return nil
}
