package deploy

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// fatalWaiting are container waiting reasons that mean the rollout will not
// succeed without a change.
var fatalWaiting = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// definitivePull are ErrImagePull messages that retrying will not fix.
var definitivePull = []string{"not found", "manifest unknown", "unauthorized", "denied", "no such host", "forbidden"}

// podVerdict is what one pod of the new revision says about the rollout.
type podVerdict struct {
	// Fatal are reasons the rollout cannot succeed (report and roll back now).
	Fatal []string
	// Waiting are reasons it is not done yet (reported at the deadline).
	Waiting []string
}

// judgePod classifies a pod of the new ReplicaSet. unschedulableGrace is how
// long a pod may stay unschedulable before that counts as fatal (time for a
// cluster autoscaler to add a node).
func judgePod(pod *corev1.Pod, now time.Time, unschedulableGrace time.Duration) podVerdict {
	var v podVerdict
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		where := fmt.Sprintf("pod %s container %s", pod.Name, cs.Name)
		last := ""
		if t := cs.LastTerminationState.Terminated; t != nil {
			last = fmt.Sprintf(" (last exit code %d, %s%s)", t.ExitCode, t.Reason, suffix(t.Message))
		}
		if w := cs.State.Waiting; w != nil {
			switch {
			case fatalWaiting[w.Reason]:
				v.Fatal = append(v.Fatal, fmt.Sprintf("%s: %s%s%s", where, w.Reason, suffix(w.Message), last))
			case w.Reason == "ErrImagePull" && containsAny(strings.ToLower(w.Message), definitivePull):
				v.Fatal = append(v.Fatal, fmt.Sprintf("%s: %s%s", where, w.Reason, suffix(w.Message)))
			case w.Reason != "":
				v.Waiting = append(v.Waiting, fmt.Sprintf("%s: waiting: %s%s%s", where, w.Reason, suffix(w.Message), last))
			}
			continue
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 && cs.RestartCount >= 1 {
			v.Fatal = append(v.Fatal, fmt.Sprintf("%s: keeps exiting, exit code %d (%s%s), %d restarts", where, t.ExitCode, t.Reason, suffix(t.Message), cs.RestartCount))
			continue
		}
		// A new revision that exited with an error before it was ever ready
		// has failed: the service retries its dependencies itself (up to
		// DB_STARTUP_TIMEOUT) before giving up.
		if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 && cs.RestartCount >= 1 && !cs.Ready {
			v.Fatal = append(v.Fatal, fmt.Sprintf("%s: exited before becoming ready, %d restarts%s", where, cs.RestartCount, last))
			continue
		}
		if cs.State.Running != nil && !cs.Ready {
			v.Waiting = append(v.Waiting, fmt.Sprintf("%s: running but not ready%s", where, last))
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			msg := fmt.Sprintf("pod %s: unschedulable: %s", pod.Name, c.Message)
			if now.Sub(c.LastTransitionTime.Time) >= unschedulableGrace {
				v.Fatal = append(v.Fatal, msg)
			} else {
				v.Waiting = append(v.Waiting, msg)
			}
		}
	}
	if pod.Status.Phase == corev1.PodFailed {
		v.Fatal = append(v.Fatal, fmt.Sprintf("pod %s failed: %s%s", pod.Name, pod.Status.Reason, suffix(pod.Status.Message)))
	}
	return v
}

// judgeDeployment returns the fatal conditions of a Deployment whose current
// ReplicaSet is rsName (a deadline condition naming another ReplicaSet is
// left over from an earlier revision).
func judgeDeployment(d *appsv1.Deployment, rsName string) []string {
	var out []string
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" &&
			strings.Contains(c.Message, `"`+rsName+`"`):
			out = append(out, fmt.Sprintf("deployment %s: progress deadline (%ds) exceeded: %s", d.Name, deref(d.Spec.ProgressDeadlineSeconds), c.Message))
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			out = append(out, fmt.Sprintf("deployment %s: cannot create pods: %s%s", d.Name, c.Reason, suffix(c.Message)))
		}
	}
	return out
}

// rolloutComplete mirrors kubectl rollout status: the new revision is
// observed, fully updated and available, and no old pods remain.
func rolloutComplete(d *appsv1.Deployment) (bool, string) {
	if d.Status.ObservedGeneration < d.Generation {
		return false, "waiting for the deployment controller to observe the new spec"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d new replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, s.UpdatedReplicas)
	}
	return true, ""
}

// eventLines formats Warning events, newest last, deduplicated.
func eventLines(events []corev1.Event, limit int) []string {
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	seen := map[string]int{}
	var order []string
	for _, e := range events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		key := fmt.Sprintf("event %s %s/%s: %s: %s", e.Type, strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message))
		if _, ok := seen[key]; !ok {
			order = append(order, key)
		}
		c := e.Count
		if c == 0 {
			c = 1
		}
		seen[key] += int(c)
	}
	if len(order) > limit {
		order = order[len(order)-limit:]
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		if n := seen[k]; n > 1 {
			k += fmt.Sprintf(" (x%d)", n)
		}
		out = append(out, k)
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func suffix(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	// Termination messages taken from logs end with what matters most.
	if len(msg) > 400 {
		msg = "..." + msg[len(msg)-400:]
	}
	return ": " + msg
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func deref(p *int32) int32 {
	if p == nil {
		return 600
	}
	return *p
}
