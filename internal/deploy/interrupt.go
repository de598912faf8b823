package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Interrupted is the outcome of a deploy stopped by its caller (the
// context was cancelled: SIGTERM from Azure Pipelines cancelling the job,
// Ctrl-C) before it could tell how the rollout ends. It is neither a
// success nor a failure: Summary.Interrupted says where it stopped, what
// serves now and what is left to do.
const Interrupted Outcome = "interrupted"

// ErrInterrupted is matched (errors.Is) by the error of an interrupted deploy.
var ErrInterrupted = errors.New("deploy interrupted")

// DefaultInterruptGrace is how long a rollback that is due may still run
// after deploy is interrupted (Options.InterruptGrace).
const DefaultInterruptGrace = 20 * time.Second

// Stages of a deploy, as Interruption.Stage names them.
const (
	StageRender    = "render"    // rendering the manifests
	StageConnect   = "connect"   // reaching the API server
	StagePreflight = "preflight" // checking permissions
	StageRead      = "read"      // reading the running revision
	StageDryRun    = "dry-run"   // server-side dry run
	StageCanary    = "canary"    // running and judging the canary
	StageApply     = "apply"     // server-side apply
	StageWatch     = "watch"     // watching the new revision's rollout
	StageRollback  = "rollback"  // restoring the previous revision
	StageDrain     = "drain"     // waiting for the earlier revision's pods to go
)

// Interruption is what an interrupted deploy reports.
type Interruption struct {
	// Stage is where deploy was when it was interrupted (Stage* constants).
	Stage string `json:"stage"`
	// Cause is what interrupted it ("received SIGTERM").
	Cause string `json:"cause,omitempty"`
	// Changed says whether deploy had changed the cluster.
	Changed bool `json:"changed"`
	// Applied and NotApplied name the objects (Kind/name) of an apply that
	// was cut short.
	Applied    []string `json:"applied,omitempty"`
	NotApplied []string `json:"notApplied,omitempty"`
	// TargetRevision and TargetImage are what the Deployment's template
	// asks for when deploy stopped; Rollout is how far that got
	// ("complete" or what is still missing).
	TargetRevision string `json:"targetRevision,omitempty"`
	TargetImage    string `json:"targetImage,omitempty"`
	Rollout        string `json:"rollout,omitempty"`
	// Serving lists the revisions with available pods when deploy stopped.
	Serving []ServingRevision `json:"serving,omitempty"`
	// Rollback says what became of a rollback: "not due", "done",
	// "started, not confirmed", "not started".
	Rollback string `json:"rollback"`
	// Left is what is left to do.
	Left []string `json:"left"`
}

// ServingRevision is a revision of the Deployment with available pods.
type ServingRevision struct {
	Revision      string `json:"revision"`
	Image         string `json:"image"`
	AvailablePods int32  `json:"availablePods"`
}

// Rollback states of an interruption.
const (
	RollbackNotDue      = "not due"
	RollbackDone        = "done"
	RollbackStarted     = "started, not confirmed"
	RollbackNotStarted  = "not started"
	rollbackUnknownNote = "could not read the Deployment after the interruption"
)

// graceContext is a context that outlives parent's cancellation by grace:
// a rollback that is due gets a short time of its own instead of the
// cancelled context.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, func() {
			cancel(fmt.Errorf("deploy was interrupted and the %s grace period ran out", grace))
		})
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel(nil) }
}

// causeOf describes what cancelled ctx.
func causeOf(ctx context.Context) string {
	c := context.Cause(ctx)
	switch {
	case c == nil:
		return ""
	case errors.Is(c, context.Canceled) && c.Error() == context.Canceled.Error():
		return "cancelled"
	case errors.Is(c, context.DeadlineExceeded) && c.Error() == context.DeadlineExceeded.Error():
		return "the caller's deadline passed"
	}
	return c.Error()
}

// interrupted turns the end of a deploy whose context was cancelled into the
// truth: where it stopped, what serves, what is left. It reads the cluster
// with a short context of its own.
func (d *deployer) interrupted(ctx context.Context, sum *Summary) error {
	in := &Interruption{Stage: d.stage, Cause: causeOf(ctx), Changed: d.changed, Rollback: RollbackNotDue}
	if d.stage == StageApply {
		in.Applied = d.applied
		in.NotApplied = d.notApplied()
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	dep, err := d.cs.AppsV1().Deployments(sum.Namespace).Get(rctx, sum.Deployment, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		dep = nil
	case err != nil:
		in.Left = append(in.Left, rollbackUnknownNote+": "+d.red.clean(explainAPIError(err)))
		dep = nil
	}
	complete := false
	if dep != nil {
		in.TargetRevision = dep.Annotations["deployment.kubernetes.io/revision"]
		in.TargetImage = imageOf(&dep.Spec.Template)
		var state string
		complete, state = rolloutComplete(dep)
		in.Rollout = "complete"
		if !complete {
			in.Rollout = "in progress: " + state
		}
		if owned, err := d.ownedReplicaSets(rctx, dep); err == nil {
			for _, rs := range owned {
				if rs.Status.AvailableReplicas > 0 {
					in.Serving = append(in.Serving, ServingRevision{Revision: rs.Annotations["deployment.kubernetes.io/revision"], Image: imageOf(&rs.Spec.Template), AvailablePods: rs.Status.AvailableReplicas})
				}
			}
			slices.SortFunc(in.Serving, func(a, b ServingRevision) int {
				x, _ := strconv.Atoi(a.Revision)
				y, _ := strconv.Atoi(b.Revision)
				return x - y
			})
		}
	}
	ref := fmt.Sprintf("deployment/%s -n %s", sum.Deployment, sum.Namespace)
	switch {
	case !d.changed:
		in.Left = append(in.Left, "nothing was changed: run deploy again")
	case d.failed && d.stage != StageRollback:
		in.Rollback = d.rollbackNote
		in.Left = append(in.Left, fmt.Sprintf("the rollout of revision %s failed (see the reasons) and stays in place: roll back with kubectl rollout undo %s, or deploy a good image", in.TargetRevision, ref))
	case d.stage == StageApply:
		in.Left = append(in.Left, fmt.Sprintf("the apply was cut short (%d of %d objects applied): run deploy again to apply them all and watch the rollout", len(in.Applied), len(d.objs)))
	case d.stage == StageRollback && d.rolledBack:
		in.Rollback = RollbackDone
		in.Left = append(in.Left, fmt.Sprintf("nothing for the rollout: revision %s (%s) serves again; fix the failure, then deploy again", sum.Revision, sum.PreviousImage))
	case d.stage == StageRollback && d.rollbackPatched:
		in.Rollback = RollbackStarted
		in.Left = append(in.Left, fmt.Sprintf("the previous pod template (%s) is restored but its rollout was not confirmed: check kubectl rollout status %s", sum.PreviousImage, ref))
	case d.stage == StageRollback:
		in.Rollback = RollbackNotStarted
		in.Left = append(in.Left, fmt.Sprintf("the failed revision stays in place: roll back with kubectl rollout undo %s, or deploy a good image", ref))
	case complete:
		in.Left = append(in.Left, fmt.Sprintf("nothing for the rollout: revision %s (%s) is rolled out", in.TargetRevision, in.TargetImage))
	default:
		in.Left = append(in.Left, fmt.Sprintf("the Deployment keeps rolling out revision %s (%s) without deploy watching it: run deploy again with the same --image to see it through (it rolls back if the rollout fails), or roll back with kubectl rollout undo %s",
			in.TargetRevision, in.TargetImage, ref))
	}
	sum.Outcome = Interrupted
	sum.Interrupted = in
	what := "before the rollout could be judged: nothing failed"
	switch {
	case !d.changed:
		what = "nothing was changed"
	case d.failed:
		what = "after the rollout failed"
	}
	return &Error{Summary: sum, Err: ErrInterrupted, Msg: fmt.Sprintf("deploy of %s to %s was interrupted (%s) during the %s stage, %s", sum.Deployment, sum.Image, in.Cause, in.Stage, what)}
}

// interruptedBefore is the report of a deploy interrupted before it had a
// client (nothing was changed).
func interruptedBefore(ctx context.Context, sum *Summary, stage string) error {
	sum.Outcome = Interrupted
	sum.Interrupted = &Interruption{Stage: stage, Cause: causeOf(ctx), Rollback: RollbackNotDue, Left: []string{"nothing was changed: run deploy again"}}
	return &Error{Summary: sum, Err: ErrInterrupted, Msg: fmt.Sprintf("deploy of %s to %s was interrupted (%s) during the %s stage; nothing was changed", sum.Deployment, sum.Image, sum.Interrupted.Cause, stage)}
}

func (d *deployer) notApplied() []string {
	var out []string
	for _, o := range d.objs {
		n := o.GetKind() + "/" + o.GetName()
		if !slices.Contains(d.applied, n) {
			out = append(out, n)
		}
	}
	return out
}

// writeInterruption renders an interruption for humans (Summary.String).
func writeInterruption(b *strings.Builder, in *Interruption) {
	fmt.Fprintf(b, "  stopped:    during %s (%s); changed the cluster: %t\n", in.Stage, in.Cause, in.Changed)
	if len(in.Applied) > 0 || len(in.NotApplied) > 0 {
		fmt.Fprintf(b, "  applied:    %s\n  not applied: %s\n", strings.Join(in.Applied, ", "), strings.Join(in.NotApplied, ", "))
	}
	if in.TargetRevision != "" {
		fmt.Fprintf(b, "  rollout:    revision %s (%s): %s\n", in.TargetRevision, in.TargetImage, in.Rollout)
	}
	for _, s := range in.Serving {
		fmt.Fprintf(b, "  serving:    revision %s (%s), %d pod(s) available\n", s.Revision, s.Image, s.AvailablePods)
	}
	fmt.Fprintf(b, "  rollback:   %s\n", in.Rollback)
	for _, l := range in.Left {
		fmt.Fprintf(b, "  left to do: %s\n", l)
	}
}

// verdictError is the watch's judgement that a rollout cannot succeed (as
// opposed to it being stopped before it could tell).
type verdictError struct{ msg string }

func (e *verdictError) Error() string { return e.msg }

func verdict(msg string) error { return &verdictError{msg} }

func isVerdict(err error) bool {
	var v *verdictError
	return errors.As(err, &v)
}
