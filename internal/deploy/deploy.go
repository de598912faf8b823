// Package deploy applies a rendered environment to a Kubernetes cluster the
// way the CD stage needs it: validate everything with a server-side dry run
// before changing anything, apply with server-side apply, watch the rollout
// and stop it early when it cannot succeed (crash loops, images that cannot
// be pulled, pods that cannot be scheduled, readiness that never comes),
// report why from pod statuses and events, and roll back to the previous
// ReplicaSet's pod template.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/go-aks/pipeline/internal/render"
)

// FieldManager is the server-side apply field manager of deploy.
const FieldManager = "go-aks-deploy"

// Outcome is how a deploy ended.
type Outcome string

// Outcomes.
const (
	Deployed   Outcome = "deployed"
	Unchanged  Outcome = "unchanged"
	RolledBack Outcome = "rolled-back"
	Failed     Outcome = "failed"
	Validated  Outcome = "validated"
)

// Options configure Run.
type Options struct {
	// Kubeconfig is the kubeconfig file (for AKS: az aks get-credentials,
	// converted with kubelogin where Entra ID is used).
	Kubeconfig string
	// Manifests is the directory holding base/ and overlays/.
	Manifests string
	// Environment names the overlay (staging, production).
	Environment string
	// Image is REGISTRY/REPO@sha256:<digest>; a tag is refused.
	Image string
	// Namespace overrides the overlay's namespace.
	Namespace string
	// Components are extra kustomize components (paths inside Manifests).
	Components []string
	// Timeout bounds the rollout (default 5m).
	Timeout time.Duration
	// Rollback restores the previous revision when the rollout fails.
	Rollback bool
	// UnschedulableGrace is how long pods may stay unschedulable before the
	// rollout counts as failed (give a cluster autoscaler time). Default 0.
	UnschedulableGrace time.Duration
	// DryRunOnly stops after the server-side dry run (nothing is changed).
	DryRunOnly bool
	// PollInterval is how often the rollout is checked (default 500ms).
	PollInterval time.Duration
	// Logger receives progress; default slog.Default().
	Logger *slog.Logger
	// InterruptGrace is how long a rollback that is due may still run once
	// ctx is cancelled (default DefaultInterruptGrace).
	InterruptGrace time.Duration
	// Strategy is rolling or canary; empty takes the overlay's default
	// (annotation StrategyAnnotation on its Deployment), else rolling.
	Strategy Strategy
	// Canary configures the canary strategy (canary.go).
	Canary CanaryOptions
}

// Summary is what a deploy did.
type Summary struct {
	Environment   string   `json:"environment"`
	Namespace     string   `json:"namespace"`
	Deployment    string   `json:"deployment"`
	Image         string   `json:"image"`
	PreviousImage string   `json:"previousImage,omitempty"`
	Revision      string   `json:"revision,omitempty"`
	Outcome       Outcome  `json:"outcome"`
	Duration      Duration `json:"duration"`
	// FailureDetectedAfter is the time from apply to the failure verdict.
	FailureDetectedAfter Duration `json:"failureDetectedAfter,omitempty"`
	Reasons              []string `json:"reasons,omitempty"`
	// Interrupted is set when the outcome is Interrupted.
	Interrupted *Interruption `json:"interrupted,omitempty"`
	// Strategy is how the digest was rolled out (rolling, canary).
	Strategy Strategy `json:"strategy,omitempty"`
	// Canary is what the canary did (canary strategy only).
	Canary *CanaryReport `json:"canary,omitempty"`
	// Health is kstatus' verdict on every applied object.
	Health []ObjectHealth `json:"health,omitempty"`
	// Pruned are the objects deploy owned and deleted because they left the
	// manifests; WouldPrune what a dry run would delete.
	Pruned     []string `json:"pruned,omitempty"`
	WouldPrune []string `json:"wouldPrune,omitempty"`
}

// Duration marshals as a Go duration string (rounded to the millisecond),
// and reads one back.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
}

// UnmarshalJSON implements json.Unmarshaler: it reads a Go duration string
// ("1m2.5s") as MarshalJSON writes it; null leaves d unchanged.
func (d *Duration) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("duration %s: want a Go duration string such as \"1m2.5s\": %w", data, err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// String renders the summary for humans.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deploy %s: %s\n", s.Environment, s.Outcome)
	fmt.Fprintf(&b, "  namespace:  %s\n  deployment: %s\n  image:      %s\n", s.Namespace, s.Deployment, s.Image)
	if s.PreviousImage != "" && s.PreviousImage != s.Image {
		fmt.Fprintf(&b, "  previous:   %s\n", s.PreviousImage)
	}
	if s.Revision != "" {
		fmt.Fprintf(&b, "  revision:   %s\n", s.Revision)
	}
	fmt.Fprintf(&b, "  took:       %s\n", time.Duration(s.Duration).Round(time.Millisecond))
	if s.FailureDetectedAfter > 0 {
		fmt.Fprintf(&b, "  failure detected %s after apply\n", time.Duration(s.FailureDetectedAfter).Round(time.Millisecond))
	}
	if s.Interrupted != nil {
		writeInterruption(&b, s.Interrupted)
	}
	s.writeDetails(&b)
	for _, r := range s.Reasons {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	return b.String()
}

// Error is returned when a deploy fails; Summary says what happened.
type Error struct {
	Summary *Summary
	Msg     string
	// Err is what the failure is (ErrInterrupted), if anything specific.
	Err error
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if len(e.Summary.Reasons) == 0 {
		return e.Msg
	}
	return e.Msg + ":\n  - " + strings.Join(e.Summary.Reasons, "\n  - ")
}

type deployer struct {
	opts  Options
	log   *slog.Logger
	cs    kubernetes.Interface
	dyn   dynamic.Interface
	rm    meta.RESTMapper
	red   *redactor
	start time.Time

	// What happened so far, for an interruption's report.
	stage           string
	objs            []*unstructured.Unstructured
	applied         []string // Kind/name applied for real
	changed         bool
	rollbackPatched bool
	rolledBack      bool
	rollbackNote    string
	failed          bool // the rollout was judged failed
}

// Run renders, validates, applies and watches one environment.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	start := time.Now()
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	if opts.InterruptGrace <= 0 {
		opts.InterruptGrace = DefaultInterruptGrace
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// Everything about the input is checked before the cluster is contacted.
	res, err := render.Render(ctx, render.Options{Dir: opts.Manifests, Environment: opts.Environment, Image: opts.Image, Namespace: opts.Namespace, Components: opts.Components})
	if err != nil {
		if ctx.Err() != nil {
			sum := &Summary{Environment: opts.Environment, Namespace: opts.Namespace, Image: opts.Image, Duration: Duration(time.Since(start))}
			return sum, interruptedBefore(ctx, sum, StageRender)
		}
		return nil, err
	}
	dep, err := theDeployment(res.Objects)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Environment: opts.Environment, Namespace: dep.GetNamespace(), Deployment: dep.GetName(), Image: res.Image}
	rc, red, err := loadKubeconfig(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	d, err := newDeployer(ctx, rc, red, opts, log)
	if err != nil {
		if ctx.Err() != nil {
			err = interruptedBefore(ctx, sum, StageConnect)
			sum.Duration = Duration(time.Since(start))
			return sum, err
		}
		return nil, err
	}
	d.start = start
	d.objs = res.Objects
	err = d.run(ctx, res, dep, sum)
	if ctx.Err() != nil {
		err = d.interrupted(ctx, sum)
	}
	sum.Duration = Duration(time.Since(start))
	if err != nil {
		var de *Error
		var pe *PermissionError
		if errors.As(err, &de) {
			return sum, err
		}
		if errors.As(err, &pe) {
			sum.Outcome = Failed
			return sum, pe
		}
		sum.Outcome = Failed
		return sum, errors.New(red.clean(err.Error()))
	}
	return sum, nil
}

func newDeployer(ctx context.Context, rc *rest.Config, red *redactor, opts Options, log *slog.Logger) (*deployer, error) {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %s", opts.Kubeconfig, red.clean(err.Error()))
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %s", opts.Kubeconfig, red.clean(err.Error()))
	}
	// Reach the API server first, with a short bound, for a clear error.
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Result.Error, not Raw: it reads the server's Status message.
	if err := cs.Discovery().RESTClient().Get().AbsPath("/version").Do(pctx).Error(); err != nil {
		host := redactURL(rc.Host)
		if apierrors.IsUnauthorized(err) {
			return nil, fmt.Errorf("the Kubernetes API server %s refused the credentials in --kubeconfig %s (401 Unauthorized): fetch fresh credentials (az aks get-credentials; with Entra ID, kubelogin convert-kubeconfig and a valid login)", host, opts.Kubeconfig)
		}
		if rc.ExecProvider != nil && strings.Contains(err.Error(), "getting credentials:") {
			return nil, fmt.Errorf("--kubeconfig %s: the exec credential plugin %q failed, so no request reached the API server %s: %s (log in again, or use a kubeconfig that needs no plugin: kubelogin convert-kubeconfig -l azurecli|workloadidentity|spn)",
				opts.Kubeconfig, rc.ExecProvider.Command, host, red.clean(err.Error()))
		}
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("the Kubernetes API server %s refused the request of --kubeconfig %s: %s", host, opts.Kubeconfig, red.clean(explainAPIError(err)))
		}
		return nil, fmt.Errorf("cannot reach the Kubernetes API server %s with --kubeconfig %s: %s (check the file, the network path to the cluster and, for AKS with Entra ID, that kubelogin is installed and logged in)",
			host, opts.Kubeconfig, red.clean(explainAPIError(err)))
	}
	groups, err := restmapper.GetAPIGroupResources(cs.Discovery())
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover the cluster's API resources: %s", red.clean(explainAPIError(err)))
	}
	return &deployer{opts: opts, log: log, cs: cs, dyn: dyn, rm: restmapper.NewDiscoveryRESTMapper(groups), red: red}, nil
}

func explainAPIError(err error) string {
	switch {
	case apierrors.IsUnauthorized(err):
		return "401 Unauthorized: the credentials in the kubeconfig were refused"
	case apierrors.IsForbidden(err):
		// The server's own message (who may not do what), from its Status.
		msg := err.Error()
		if st, ok := err.(apierrors.APIStatus); ok && st.Status().Message != "" {
			msg = st.Status().Message
		}
		return "403 Forbidden: " + msg
	}
	return err.Error()
}

func theDeployment(objs []*unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GroupVersionKind().Group == "apps" {
			if found != nil {
				return nil, fmt.Errorf("rendered manifests hold more than one Deployment (%s, %s); deploy watches exactly one", found.GetName(), o.GetName())
			}
			found = o
		}
	}
	if found == nil {
		return nil, errors.New("rendered manifests hold no Deployment")
	}
	if found.GetNamespace() == "" {
		return nil, fmt.Errorf("the Deployment %s has no namespace: set namespace in the overlay or pass --namespace", found.GetName())
	}
	return found, nil
}

func (d *deployer) run(ctx context.Context, res *render.Result, depObj *unstructured.Unstructured, sum *Summary) error {
	ns, name := depObj.GetNamespace(), depObj.GetName()
	deps := d.cs.AppsV1().Deployments(ns)

	// 0. Every permission the whole deploy needs, before changing anything.
	strategy, err := d.strategy(depObj)
	if err != nil {
		return err
	}
	d.stage = StagePreflight
	if err := d.preflight(ctx, d.needs(res.Objects, ns, strategy)); err != nil {
		return err
	}
	d.stage = StageRead
	live, err := deps.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return fmt.Errorf("read Deployment %s/%s: %s", ns, name, explainAPIError(err))
	}
	var prevRS *appsv1.ReplicaSet
	if live != nil {
		if prevRS, err = d.rollbackTarget(ctx, live); err != nil {
			return err
		}
		sum.PreviousImage = imageOf(&live.Spec.Template)
		if prevRS != nil {
			sum.PreviousImage = imageOf(&prevRS.Spec.Template)
		}
	}

	// Every object is labelled as a member of deploy's ApplySet (prune.go).
	owned := newApplySet(depObj, res.Objects)

	// 1. Validate every object against the cluster; change nothing.
	d.stage = StageDryRun
	dry, err := d.applyAll(ctx, res.Objects, true)
	if err != nil {
		return fmt.Errorf("server-side dry run refused the manifests, nothing was changed: %w", err)
	}
	d.log.InfoContext(ctx, "server-side dry run accepted the manifests", "objects", len(res.Objects))
	if d.opts.DryRunOnly {
		sum.Outcome = Validated
		would, err := d.pruneCandidates(ctx, owned)
		sum.WouldPrune = describeAll(would)
		return err
	}
	if err := d.beginApplySet(ctx, owned); err != nil {
		return err
	}

	// 2. Same digest and nothing else changed in the Deployment: a no-op.
	if live != nil {
		dryGen := dry[key(depObj)].GetGeneration()
		if done, _ := rolloutComplete(live); done && dryGen == live.Generation && sum.PreviousImage == res.Image {
			d.stage = StageApply
			if _, err := d.applyAll(ctx, res.Objects, false); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			sum.Outcome = Unchanged
			sum.Revision = live.Annotations["deployment.kubernetes.io/revision"]
			d.log.InfoContext(ctx, "image already deployed and rolled out; nothing to do", "image", res.Image)
			return d.settle(ctx, res, owned, sum, d.opts.Timeout)
		}
	}

	// 3. Canary first, when asked for and there is a stable revision to
	// compare with (canary.go). A failed canary returns here; production
	// was never changed.
	sum.Strategy = StrategyRolling
	if strategy == StrategyCanary {
		if live != nil && prevRS != nil && rolloutDone(live) && sum.PreviousImage != res.Image {
			sum.Strategy = StrategyCanary
			d.stage = StageCanary
			if err := d.runCanary(ctx, res, depObj, live, sum); err != nil {
				return err
			}
			// The canary passed: its pods go before the rolling update, so
			// their capacity is there for the update's surge (on a full
			// cluster the new pods would otherwise wait for it).
			d.removeCanary(context.WithoutCancel(ctx), ns, name, sum.Canary)
		} else {
			sum.Reasons = append(sum.Reasons, "canary skipped: no completed stable revision of another digest to compare with, rolling update")
		}
	}

	// 4. Apply for real.
	d.stage = StageApply
	if _, err := d.applyAll(ctx, res.Objects, false); err != nil {
		return fmt.Errorf("apply (after a successful dry run): %w", err)
	}
	applied := time.Now()
	d.log.InfoContext(ctx, "applied; watching the rollout", "deployment", ns+"/"+name, "image", res.Image, "timeout", d.opts.Timeout)

	// 4. Watch.
	d.stage = StageWatch
	rev, reasons, err := d.watch(ctx, ns, name, d.opts.Timeout)
	if err != nil && ctx.Err() != nil && !isVerdict(err) {
		// Stopped before the rollout could be judged: not a failure.
		return ErrInterrupted
	}
	if err == nil {
		// Every other object must be healthy too (kstatus, health.go).
		sum.Health, reasons, err = d.waitHealthy(ctx, res.Objects, d.opts.Timeout-time.Since(applied))
		if err != nil && ctx.Err() != nil && !isVerdict(err) {
			return ErrInterrupted
		}
	}
	if err == nil {
		sum.Outcome = Deployed
		sum.Revision = rev
		// 4b. The rollout is complete, but pods of the earlier revision are
		// still draining behind the Service. Wait for them, so that once
		// deploy returns every request reaches the new image (what the
		// acceptance stage that follows relies on).
		d.stage = StageDrain
		sum.Reasons = append(sum.Reasons, d.drainOld(ctx, ns, name, d.opts.Timeout-time.Since(applied))...)
		// 4c. Only now delete what left the manifests (prune.go).
		sum.Pruned, err = d.prune(ctx, owned)
		return err
	}
	sum.FailureDetectedAfter = Duration(time.Since(applied))
	sum.Reasons = reasons
	sum.Outcome = Failed
	d.failed = true
	d.log.ErrorContext(ctx, "rollout failed", "deployment", ns+"/"+name, "after", time.Since(applied).Round(time.Millisecond), "reasons", len(reasons))

	// 5. Roll back (nothing is pruned).
	if !d.opts.Rollback {
		d.rollbackNote = "disabled (--rollback=false)"
		sum.Reasons = append(sum.Reasons, "rollback disabled (--rollback=false): the failed revision stays in place")
		return &Error{Summary: sum, Msg: fmt.Sprintf("rollout of %s to %s failed: %v", name, res.Image, err)}
	}
	if prevRS == nil {
		d.rollbackNote = "no previous revision (first deploy)"
		sum.Reasons = append(sum.Reasons, "no previous revision to roll back to (first deploy)")
		return &Error{Summary: sum, Msg: fmt.Sprintf("rollout of %s to %s failed: %v", name, res.Image, err)}
	}
	// The rollback is due: it gets a grace period of its own if deploy is
	// interrupted meanwhile.
	d.stage = StageRollback
	rctx, cancel := graceContext(ctx, d.opts.InterruptGrace)
	defer cancel()
	rbRev, rbErr := d.rollback(rctx, ns, name, prevRS)
	if rbErr != nil && rctx.Err() != nil {
		// The grace period ran out: the rollback did not fail, deploy
		// stopped before it could tell.
		return ErrInterrupted
	}
	if rbErr != nil {
		sum.Reasons = append(sum.Reasons, "rollback failed: "+d.red.clean(rbErr.Error()))
		return &Error{Summary: sum, Msg: fmt.Sprintf("rollout of %s to %s failed and so did the rollback", name, res.Image)}
	}
	d.rolledBack = true
	sum.Outcome = RolledBack
	sum.Revision = rbRev
	return &Error{Summary: sum, Msg: fmt.Sprintf("rollout of %s to %s failed (%v); rolled back to %s (revision %s)", name, res.Image, err, sum.PreviousImage, rbRev)}
}

func key(o *unstructured.Unstructured) string {
	return o.GetAPIVersion() + "/" + o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// applyAll server-side applies every object (dry run or for real). A dry run
// collects every object's error so that one report names them all.
func (d *deployer) applyAll(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) (map[string]*unstructured.Unstructured, error) {
	out := map[string]*unstructured.Unstructured{}
	var errs []string
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := d.rm.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			msg := fmt.Sprintf("%s %s: the cluster does not serve %s", o.GetKind(), o.GetName(), gvk.GroupVersion().WithKind(gvk.Kind))
			if gvk.Group == "secrets-store.csi.x-k8s.io" {
				msg += " (install the Secrets Store CSI driver: AKS add-on azure-keyvault-secrets-provider)"
			}
			errs = append(errs, msg)
			continue
		}
		var ri dynamic.ResourceInterface = d.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = d.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		ao := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
		if dryRun {
			ao.DryRun = []string{metav1.DryRunAll}
		}
		got, err := ri.Apply(ctx, o.GetName(), o, ao)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s/%s: %s", o.GetKind(), o.GetNamespace(), o.GetName(), d.red.clean(explainAPIError(err))))
			if !dryRun {
				break
			}
			continue
		}
		out[key(o)] = got
		if !dryRun {
			d.changed = true
			d.applied = append(d.applied, o.GetKind()+"/"+o.GetName())
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

// watch waits for the Deployment's rollout; it returns the revision on
// success, or the reasons it failed.
func (d *deployer) watch(ctx context.Context, ns, name string, timeout time.Duration) (string, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastWaiting []string
	var lastState string
	for {
		dep, err := d.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return "", nil, ctx.Err()
			}
			if ctx.Err() != nil {
				return "", d.finalReasons(context.WithoutCancel(ctx), ns, dep, lastWaiting), fmt.Errorf("not complete after %s: %s", timeout, lastState)
			}
			return "", nil, fmt.Errorf("read Deployment %s/%s: %s", ns, name, explainAPIError(err))
		}
		done, state := rolloutComplete(dep)
		lastState = state
		if done {
			return dep.Annotations["deployment.kubernetes.io/revision"], nil, nil
		}
		if dep.Status.ObservedGeneration >= dep.Generation {
			rs, err := d.currentReplicaSet(ctx, dep)
			if err != nil && ctx.Err() == nil {
				return "", nil, err
			}
			// Conditions left by an earlier failed revision do not count.
			if rs != nil {
				if fatal := judgeDeployment(dep, rs.Name); len(fatal) > 0 {
					return "", d.finalReasons(ctx, ns, dep, fatal), verdict(firstLine(fatal))
				}
			}
			pods, err := d.newPods(ctx, dep)
			if err != nil && ctx.Err() == nil {
				return "", nil, err
			}
			var fatal, waiting []string
			now := time.Now()
			for i := range pods {
				v := judgePod(&pods[i], now, d.opts.UnschedulableGrace)
				fatal = append(fatal, v.Fatal...)
				waiting = append(waiting, v.Waiting...)
			}
			if len(fatal) > 0 {
				return "", d.finalReasons(ctx, ns, dep, fatal), verdict(firstLine(fatal))
			}
			lastWaiting = waiting
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return "", nil, ctx.Err()
			}
			return "", d.finalReasons(context.WithoutCancel(ctx), ns, dep, lastWaiting), fmt.Errorf("not complete after %s: %s", timeout, lastState)
		case <-time.After(d.opts.PollInterval):
		}
	}
}

func firstLine(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// finalReasons adds the Warning events of the new revision's pods, its
// ReplicaSet and the Deployment to the verdict.
func (d *deployer) finalReasons(ctx context.Context, ns string, dep *appsv1.Deployment, verdict []string) []string {
	out := slices.Clone(verdict)
	if dep == nil {
		return out
	}
	// A verdict is explained even when deploy is being interrupted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	in := involved{}
	in.add("Deployment", dep.UID)
	if rs, err := d.currentReplicaSet(ctx, dep); err == nil && rs != nil {
		in.add("ReplicaSet", rs.UID)
	}
	if pods, err := d.newPods(ctx, dep); err == nil {
		for _, p := range pods {
			in.add("Pod", p.UID)
			if p.Status.Phase == corev1.PodPending && len(p.Status.ContainerStatuses) == 0 && len(verdict) == 0 {
				out = append(out, fmt.Sprintf("pod %s pending", p.Name))
			}
		}
	}
	evs, err := d.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return append(out, "events unavailable: "+explainAPIError(err))
	}
	return append(out, eventLines(eventsOf(evs.Items, in), 12)...)
}

// drainOld waits, at most limit, until no pod of an earlier revision of the
// Deployment is left. It returns a note when some still are: the new revision
// is rolled out either way, so that is not a failure.
func (d *deployer) drainOld(ctx context.Context, ns, name string, limit time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, max(limit, 10*time.Second))
	defer cancel()
	old := 0
	for {
		n, err := d.oldPods(ctx, ns, name)
		switch {
		case err != nil && ctx.Err() == nil:
			return []string{"could not check for pods of earlier revisions: " + d.red.clean(err.Error())}
		case err == nil && n == 0:
			return nil
		case err == nil:
			old = n
		}
		select {
		case <-ctx.Done():
			return []string{fmt.Sprintf("%d pod(s) of earlier revisions still terminating when deploy returned", old)}
		case <-time.After(d.opts.PollInterval):
		}
	}
}

// oldPods counts the pods of the Deployment that belong to another revision
// than the current one (draining or not).
func (d *deployer) oldPods(ctx context.Context, ns, name string) (int, error) {
	dep, err := d.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("read Deployment %s/%s: %s", ns, name, explainAPIError(err))
	}
	rs, err := d.currentReplicaSet(ctx, dep)
	if err != nil || rs == nil {
		return 0, err
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return 0, fmt.Errorf("deployment %s selector: %w", dep.Name, err)
	}
	pods, err := d.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, fmt.Errorf("list pods of %s: %s", dep.Name, explainAPIError(err))
	}
	hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	n := 0
	for _, p := range pods.Items {
		if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
			n++
		}
	}
	return n, nil
}

// ownedReplicaSets lists the ReplicaSets the Deployment controls.
func (d *deployer) ownedReplicaSets(ctx context.Context, dep *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s selector: %w", dep.Name, err)
	}
	list, err := d.cs.AppsV1().ReplicaSets(dep.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list ReplicaSets of %s: %s", dep.Name, explainAPIError(err))
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if rs := &list.Items[i]; metav1.IsControlledBy(rs, dep) {
			out = append(out, rs)
		}
	}
	return out, nil
}

// currentReplicaSet is the ReplicaSet of the Deployment's current revision.
func (d *deployer) currentReplicaSet(ctx context.Context, dep *appsv1.Deployment) (*appsv1.ReplicaSet, error) {
	owned, err := d.ownedReplicaSets(ctx, dep)
	if err != nil {
		return nil, err
	}
	rev := dep.Annotations["deployment.kubernetes.io/revision"]
	for _, rs := range owned {
		if rs.Annotations["deployment.kubernetes.io/revision"] == rev {
			return rs, nil
		}
	}
	return nil, nil
}

// rollbackTarget is the revision to return to if the new one fails: the
// current one when its rollout completed; otherwise (an earlier deploy failed
// and was left in place) the newest revision that still has available pods.
func (d *deployer) rollbackTarget(ctx context.Context, dep *appsv1.Deployment) (*appsv1.ReplicaSet, error) {
	cur, err := d.currentReplicaSet(ctx, dep)
	if err != nil {
		return nil, err
	}
	if done, _ := rolloutComplete(dep); done {
		return cur, nil
	}
	owned, err := d.ownedReplicaSets(ctx, dep)
	if err != nil {
		return nil, err
	}
	var best *appsv1.ReplicaSet
	bestRev := -1
	for _, rs := range owned {
		if rs.Status.AvailableReplicas == 0 {
			continue
		}
		rev, err := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
		if err == nil && rev > bestRev {
			best, bestRev = rs, rev
		}
	}
	return best, nil
}

// newPods lists the pods of the Deployment's current revision.
func (d *deployer) newPods(ctx context.Context, dep *appsv1.Deployment) ([]corev1.Pod, error) {
	rs, err := d.currentReplicaSet(ctx, dep)
	if err != nil || rs == nil {
		return nil, err
	}
	hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	sel := labels.SelectorFromSet(labels.Set{appsv1.DefaultDeploymentUniqueLabelKey: hash})
	pods, err := d.cs.CoreV1().Pods(dep.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %s", rs.Name, explainAPIError(err))
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if metav1.IsControlledBy(&p, rs) {
			out = append(out, p)
		}
	}
	return out, nil
}

// rollback restores the pod template of the previous ReplicaSet (what
// kubectl rollout undo does) and waits for that rollout.
func (d *deployer) rollback(ctx context.Context, ns, name string, prev *appsv1.ReplicaSet) (string, error) {
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(tmpl)
	if err != nil {
		return "", fmt.Errorf("encode previous template: %w", err)
	}
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": raw}})
	if err != nil {
		return "", fmt.Errorf("encode rollback patch: %w", err)
	}
	if _, err := d.cs.AppsV1().Deployments(ns).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: FieldManager + "-rollback"}); err != nil {
		return "", fmt.Errorf("restore the previous pod template of %s: %s", name, explainAPIError(err))
	}
	d.rollbackPatched, d.changed = true, true
	d.log.InfoContext(ctx, "rolling back", "deployment", ns+"/"+name, "to", imageOf(&prev.Spec.Template), "revision", prev.Annotations["deployment.kubernetes.io/revision"])
	timeout := d.opts.Timeout
	if timeout < 2*time.Minute {
		timeout = 2 * time.Minute
	}
	rev, reasons, err := d.watch(ctx, ns, name, timeout)
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.Join(reasons, "; "))
	}
	return rev, nil
}

func imageOf(t *corev1.PodTemplateSpec) string {
	for _, c := range t.Spec.Containers {
		if c.Name == render.ImageName {
			return c.Image
		}
	}
	if len(t.Spec.Containers) > 0 {
		return t.Spec.Containers[0].Image
	}
	return ""
}
