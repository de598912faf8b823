package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// What deploy owns is recorded with the Kubernetes ApplySet convention (KEP
// 3659, what `kubectl apply --prune --applyset` uses), so kubectl and other
// tools see the same ownership:
//
//   - a parent ConfigMap "<deployment>-applyset" in the Deployment's
//     namespace, labelled applyset.kubernetes.io/id=<ID> and annotated with
//     the tooling and the group-kinds its members have;
//   - every applied object labelled applyset.kubernetes.io/part-of=<ID>.
//
// After a successful rollout, objects of those group-kinds in the
// namespaces deploy was given that carry the part-of label, were applied by
// deploy's field manager and are no longer rendered are deleted. An object
// without the label (made by hand, by another tool, or by an earlier deploy
// before it recorded ownership) is never touched, nor anything outside the
// rendered namespaces. A failed rollout prunes nothing.
const (
	ApplySetPartOfLabel     = "applyset.kubernetes.io/part-of"
	ApplySetIDLabel         = "applyset.kubernetes.io/id"
	ApplySetToolingAnnot    = "applyset.kubernetes.io/tooling"
	ApplySetGroupKindsAnnot = "applyset.kubernetes.io/contains-group-kinds"
	applySetTooling         = "go-aks-deploy/v1"
)

// applySet is the ownership record of one Deployment's objects.
type applySet struct {
	parentName, namespace, id string
	// groupKinds of the objects rendered now.
	groupKinds []schema.GroupKind
	// rendered is the key (see objKey) of every rendered object.
	rendered map[string]bool
	// namespaces are the namespaces the rendered objects live in: the only
	// ones prune looks into.
	namespaces []string
}

// applySetID is the ID the ApplySet specification derives from the parent:
// base64url(sha256(<name>.<namespace>.<kind>.<group>)) wrapped in
// "applyset-" and "-v1".
func applySetID(name, namespace, kind, group string) string {
	sum := sha256.Sum256([]byte(name + "." + namespace + "." + kind + "." + group))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

func objKey(gk schema.GroupKind, ns, name string) string {
	return gk.String() + "/" + ns + "/" + name
}

// newApplySet labels every rendered object as a member of the Deployment's
// ApplySet and returns the record.
func newApplySet(dep *unstructured.Unstructured, objs []*unstructured.Unstructured) *applySet {
	as := &applySet{parentName: dep.GetName() + "-applyset", namespace: dep.GetNamespace(), rendered: map[string]bool{}}
	as.id = applySetID(as.parentName, as.namespace, "ConfigMap", "")
	for _, o := range objs {
		l := o.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[ApplySetPartOfLabel] = as.id
		o.SetLabels(l)
		gk := o.GroupVersionKind().GroupKind()
		if !slices.Contains(as.groupKinds, gk) {
			as.groupKinds = append(as.groupKinds, gk)
		}
		if ns := o.GetNamespace(); ns != "" && !slices.Contains(as.namespaces, ns) {
			as.namespaces = append(as.namespaces, ns)
		}
		as.rendered[objKey(gk, o.GetNamespace(), o.GetName())] = true
	}
	return as
}

// formatGroupKinds writes group-kinds as the annotation holds them: sorted,
// comma-separated Kind.group (Kind alone for the core group).
func formatGroupKinds(gks []schema.GroupKind) string {
	s := make([]string, 0, len(gks))
	for _, gk := range gks {
		s = append(s, gk.String())
	}
	sort.Strings(s)
	return strings.Join(slices.Compact(s), ",")
}

func parseGroupKinds(v string) []schema.GroupKind {
	var out []schema.GroupKind
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, schema.ParseGroupKind(s))
		}
	}
	return out
}

// recordedGroupKinds reads the group-kinds the parent records (nil when there
// is no parent yet).
func (d *deployer) recordedGroupKinds(ctx context.Context, as *applySet) ([]schema.GroupKind, error) {
	cm, err := d.cs.CoreV1().ConfigMaps(as.namespace).Get(ctx, as.parentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the ApplySet parent ConfigMap %s/%s: %s", as.namespace, as.parentName, explainAPIError(err))
	}
	if t := cm.Annotations[ApplySetToolingAnnot]; t != "" && t != applySetTooling {
		return nil, fmt.Errorf("ConfigMap %s/%s is the ApplySet parent of another tool (%s): deploy will not take over its objects", as.namespace, as.parentName, t)
	}
	return parseGroupKinds(cm.Annotations[ApplySetGroupKindsAnnot]), nil
}

// writeParent server-side applies the parent with the given group-kinds.
func (d *deployer) writeParent(ctx context.Context, as *applySet, gks []schema.GroupKind) error {
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName(as.parentName)
	cm.SetNamespace(as.namespace)
	cm.SetLabels(map[string]string{ApplySetIDLabel: as.id})
	ann := map[string]string{ApplySetToolingAnnot: applySetTooling, ApplySetGroupKindsAnnot: formatGroupKinds(gks)}
	if extra := slices.DeleteFunc(slices.Clone(as.namespaces), func(ns string) bool { return ns == as.namespace }); len(extra) > 0 {
		ann["applyset.kubernetes.io/additional-namespaces"] = strings.Join(extra, ",")
	}
	cm.SetAnnotations(ann)
	_, err := d.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(as.namespace).
		Apply(ctx, as.parentName, cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("record deploy's objects in the ApplySet parent ConfigMap %s/%s: %s", as.namespace, as.parentName, explainAPIError(err))
	}
	return nil
}

// beginApplySet records, before anything is applied, the union of what the
// parent held and what is rendered now, so that an interrupted deploy still
// knows every kind it may have to prune later.
func (d *deployer) beginApplySet(ctx context.Context, as *applySet) error {
	old, err := d.recordedGroupKinds(ctx, as)
	if err != nil {
		return err
	}
	return d.writeParent(ctx, as, union(old, as.groupKinds))
}

func union(a, b []schema.GroupKind) []schema.GroupKind {
	out := slices.Clone(a)
	for _, gk := range b {
		if !slices.Contains(out, gk) {
			out = append(out, gk)
		}
	}
	return out
}

// pruneCandidates lists the objects deploy owns that are no longer rendered.
func (d *deployer) pruneCandidates(ctx context.Context, as *applySet) ([]*unstructured.Unstructured, error) {
	old, err := d.recordedGroupKinds(ctx, as)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, gk := range union(old, as.groupKinds) {
		m, err := d.rm.RESTMapping(gk)
		if err != nil {
			if meta.IsNoMatchError(err) {
				continue // the kind is no longer served, so no such object is left
			}
			return nil, fmt.Errorf("prune: map %s: %w", gk, err)
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			continue // deploy is given namespaces; it never prunes cluster-scoped objects
		}
		for _, ns := range as.namespaces {
			list, err := d.dyn.Resource(m.Resource).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: ApplySetPartOfLabel + "=" + as.id})
			if err != nil {
				return nil, fmt.Errorf("prune: list %s in %s: %s", m.Resource.Resource, ns, explainAPIError(err))
			}
			for i := range list.Items {
				o := &list.Items[i]
				if as.rendered[objKey(gk, o.GetNamespace(), o.GetName())] || o.GetDeletionTimestamp() != nil || !appliedByDeploy(o) {
					continue
				}
				o.SetAPIVersion(m.GroupVersionKind.GroupVersion().String())
				o.SetKind(m.GroupVersionKind.Kind)
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// appliedByDeploy reports whether deploy's field manager applied the object
// (a label copied onto a foreign object does not make deploy its owner).
func appliedByDeploy(o *unstructured.Unstructured) bool {
	for _, mf := range o.GetManagedFields() {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

func describe(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// prune deletes what deploy owns and no longer renders, then shrinks the
// parent's group-kinds to what is rendered now. It returns what it deleted.
func (d *deployer) prune(ctx context.Context, as *applySet) ([]string, error) {
	cands, err := d.pruneCandidates(ctx, as)
	if err != nil {
		return nil, err
	}
	var pruned []string
	bg := metav1.DeletePropagationBackground
	for _, o := range cands {
		gvk := o.GroupVersionKind()
		m, err := d.rm.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return pruned, fmt.Errorf("prune %s: %w", describe(o), err)
		}
		uid := o.GetUID()
		err = d.dyn.Resource(m.Resource).Namespace(o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{
			PropagationPolicy: &bg,
			// Delete exactly the object that was judged, not one recreated
			// under the same name in the meantime.
			Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return pruned, fmt.Errorf("prune %s: %s", describe(o), explainAPIError(err))
		}
		pruned = append(pruned, describe(o))
		d.log.InfoContext(ctx, "pruned an object no longer in the manifests", "object", describe(o))
	}
	if err := d.writeParent(ctx, as, as.groupKinds); err != nil {
		return pruned, err
	}
	return pruned, nil
}

func describeAll(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, describe(o))
	}
	return out
}

// PrunePermissions are the accesses recording ownership and pruning need in
// namespace ns for objects of the given resources (the rendered ones and
// those the parent records): the parent ConfigMap is read and applied
// (get, patch; create on the first deploy), and every resource is listed
// and its stale objects deleted.
func PrunePermissions(ns string, resources []schema.GroupResource) []Permission {
	out := []Permission{
		{Resource: "configmaps", Verb: "get", Namespace: ns, Why: []string{whyPrune}, DryRun: true},
		{Resource: "configmaps", Verb: "create", Namespace: ns, Why: []string{whyPrune}},
		{Resource: "configmaps", Verb: "patch", Namespace: ns, Why: []string{whyPrune}},
	}
	for _, gr := range resources {
		out = append(out,
			Permission{Group: gr.Group, Resource: gr.Resource, Verb: "list", Namespace: ns, Why: []string{whyPrune}, DryRun: true},
			Permission{Group: gr.Group, Resource: gr.Resource, Verb: "delete", Namespace: ns, Why: []string{whyPrune}})
	}
	return out
}
