package deploy

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/go-aks/pipeline/internal/render"
)

// ObjectHealth is kstatus' verdict on one applied object.
type ObjectHealth struct {
	Object  string `json:"object"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// waitHealthy judges every applied object with kstatus (the Deployment too:
// its pods were already diagnosed by watch, kstatus adds nothing there but
// a uniform line in the summary) and waits, at most timeout, until each is
// Current. An object kstatus calls Failed ends the wait at once.
func (d *deployer) waitHealthy(ctx context.Context, objs []*unstructured.Unstructured, timeout time.Duration) ([]ObjectHealth, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, max(timeout, 10*time.Second))
	defer cancel()
	verdict := make([]ObjectHealth, len(objs))
	for {
		pending := 0
		var failed []string
		for i, o := range objs {
			if verdict[i].Status == string(status.CurrentStatus) {
				continue
			}
			verdict[i] = d.health(ctx, o)
			switch verdict[i].Status {
			case string(status.CurrentStatus):
			case string(status.FailedStatus):
				failed = append(failed, fmt.Sprintf("%s is Failed: %s", verdict[i].Object, verdict[i].Message))
			default:
				pending++
			}
		}
		if len(failed) > 0 {
			return verdict, failed, fmt.Errorf("%s", failed[0])
		}
		if pending == 0 {
			return verdict, nil, nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for _, v := range verdict {
				if v.Status != string(status.CurrentStatus) {
					waiting = append(waiting, fmt.Sprintf("%s is %s: %s", v.Object, v.Status, v.Message))
				}
			}
			return verdict, waiting, fmt.Errorf("not every object became healthy within %s: %s", timeout.Round(time.Second), firstLine(waiting))
		case <-time.After(d.opts.PollInterval):
		}
	}
}

// health reads one object and computes its kstatus.
func (d *deployer) health(ctx context.Context, o *unstructured.Unstructured) ObjectHealth {
	h := ObjectHealth{Object: describe(o)}
	gvk := o.GroupVersionKind()
	m, err := d.rm.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		h.Status, h.Message = string(status.UnknownStatus), err.Error()
		return h
	}
	ri := d.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		ri = d.dyn.Resource(m.Resource)
	}
	live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		h.Status, h.Message = string(status.NotFoundStatus), "not found after apply"
		return h
	case err != nil:
		h.Status, h.Message = string(status.UnknownStatus), d.red.clean(explainAPIError(err))
		return h
	}
	res, err := status.Compute(live)
	if err != nil {
		h.Status, h.Message = string(status.UnknownStatus), err.Error()
		return h
	}
	h.Status, h.Message = string(res.Status), res.Message
	return h
}

// settle finishes a deploy whose Deployment did not change: every object
// must be healthy, then what left the manifests is pruned.
func (d *deployer) settle(ctx context.Context, res *render.Result, owned *applySet, sum *Summary, timeout time.Duration) error {
	h, reasons, err := d.waitHealthy(ctx, res.Objects, timeout)
	sum.Health = h
	if err != nil {
		sum.Outcome = Failed
		sum.Reasons = append(sum.Reasons, reasons...)
		return &Error{Summary: sum, Msg: fmt.Sprintf("the image is rolled out but not every object is healthy (nothing pruned): %v", err)}
	}
	sum.Pruned, err = d.prune(ctx, owned)
	return err
}
