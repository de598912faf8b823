package deploy

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestJudgePod(t *testing.T) {
	now := time.Now()
	waiting := func(reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "orders", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	tests := []struct {
		name        string
		pod         corev1.PodStatus
		grace       time.Duration
		wantFatal   string
		wantWaiting string
	}{
		{name: "crash loop", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "orders: takes no arguments"}},
		}}}, wantFatal: "CrashLoopBackOff: back-off 20s (last exit code 1, Error: orders: takes no arguments)"},
		{name: "image pull backoff", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ImagePullBackOff", "Back-off pulling image")}}, wantFatal: "ImagePullBackOff"},
		{name: "pull not found", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ErrImagePull", "failed to resolve reference: not found")}}, wantFatal: "ErrImagePull"},
		{name: "pull transient", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ErrImagePull", "i/o timeout")}}, wantWaiting: "ErrImagePull"},
		{name: "missing config", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("CreateContainerConfigError", `configmap "orders-db" not found`)}}, wantFatal: "orders-db"},
		{name: "creating", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{waiting("ContainerCreating", "")}}, wantWaiting: "ContainerCreating"},
		{name: "exited after restart", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", RestartCount: 1,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}},
		}}}, wantFatal: "keeps exiting, exit code 2"},
		{name: "crashed once before ready", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", Message: "database not reachable"}},
		}}}, wantFatal: "exited before becoming ready, 1 restarts (last exit code 1, Error: database not reachable)"},
		{name: "restarted after being ready", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", Ready: true, RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}},
		}}}},
		{name: "not ready", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}}, wantWaiting: "running but not ready"},
		{name: "ready", pod: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "orders", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}}},
		{name: "unschedulable", pod: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 Insufficient cpu.", LastTransitionTime: metav1.NewTime(now.Add(-time.Second)),
		}}}, wantFatal: "Insufficient cpu"},
		{name: "unschedulable within grace", grace: time.Minute, pod: corev1.PodStatus{Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available", LastTransitionTime: metav1.NewTime(now.Add(-time.Second)),
		}}}, wantWaiting: "unschedulable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "orders-abc"}, Status: tc.pod}
			v := judgePod(pod, now, tc.grace)
			check := func(what string, got []string, want string) {
				joined := strings.Join(got, "\n")
				if want == "" && len(got) > 0 {
					t.Errorf("%s = %q, want none", what, joined)
				}
				if want != "" && !strings.Contains(joined, want) {
					t.Errorf("%s = %q, want it to contain %q", what, joined, want)
				}
			}
			check("fatal", v.Fatal, tc.wantFatal)
			check("waiting", v.Waiting, tc.wantWaiting)
		})
	}
}

func TestRolloutComplete(t *testing.T) {
	tests := []struct {
		name string
		gen  int64
		st   appsv1.DeploymentStatus
		want bool
	}{
		{"not observed", 2, appsv1.DeploymentStatus{ObservedGeneration: 1, UpdatedReplicas: 2, Replicas: 2, AvailableReplicas: 2}, false},
		{"updating", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1, Replicas: 3, AvailableReplicas: 2}, false},
		{"old pending", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 3, AvailableReplicas: 2}, false},
		{"unavailable", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 2, AvailableReplicas: 1}, false},
		{"done", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 2, AvailableReplicas: 2}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: tc.gen}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)}, Status: tc.st}
			if got, why := rolloutComplete(d); got != tc.want {
				t.Errorf("complete = %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}

func TestJudgeDeployment(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "orders"}, Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "orders-1" has timed out progressing.`},
		{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "exceeded quota"},
	}}}
	got := strings.Join(judgeDeployment(d, "orders-1"), "\n")
	for _, want := range []string{"progress deadline (600s) exceeded", "cannot create pods: FailedCreate: exceeded quota"} {
		if !strings.Contains(got, want) {
			t.Errorf("judgeDeployment = %q, want %q", got, want)
		}
	}
	// A deadline left over from an earlier revision does not count.
	if got := strings.Join(judgeDeployment(d, "orders-2"), "\n"); strings.Contains(got, "deadline") {
		t.Errorf("judgeDeployment for a newer ReplicaSet = %q", got)
	}
}

func TestEventLines(t *testing.T) {
	t0 := time.Now()
	ev := func(typ, reason, msg string, at time.Duration, count int32) corev1.Event {
		return corev1.Event{Type: typ, Reason: reason, Message: msg, Count: count,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "orders-x"}, LastTimestamp: metav1.NewTime(t0.Add(at))}
	}
	got := eventLines([]corev1.Event{
		ev(corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed", 2*time.Second, 3),
		ev(corev1.EventTypeNormal, "Pulled", "pulled", time.Second, 1),
		ev(corev1.EventTypeWarning, "BackOff", "Back-off restarting", 3*time.Second, 1),
		ev(corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed", 4*time.Second, 2),
	}, 10)
	want := []string{
		"event Warning pod/orders-x: Unhealthy: Readiness probe failed (x5)",
		"event Warning pod/orders-x: BackOff: Back-off restarting",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("eventLines = %q, want %q", got, want)
	}
}
