package rehearsal

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The service's Kubernetes objects are named after it: its Service and
// container, and its pods carry app.kubernetes.io/name=NAME.
func appSelector(svc *Service) string { return "app.kubernetes.io/name=" + svc.Name() }

// ServiceURL is the base URL of the service's ClusterIP Service in a
// namespace, reachable from the host (the cluster routes its service range
// to the node).
func (r *Rehearsal) ServiceURL(ctx context.Context, service *Service, namespace string) (string, error) {
	cs, err := r.opts.Env.Client(namespace)
	if err != nil {
		return "", err
	}
	serviceName := service.Name()
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, serviceName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("find Service %s in %s: %w", serviceName, namespace, err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone || len(svc.Spec.Ports) == 0 {
		return "", fmt.Errorf("service %s in %s has no cluster IP and port", serviceName, namespace)
	}
	return "http://" + net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port))), nil
}

// PodImage is the image a pod of the service runs.
type PodImage struct {
	Pod string
	// Spec is the image of the pod's spec.
	Spec string
	// ImageID is what the node reports it runs (REPO@sha256:...), empty
	// until the container started once.
	ImageID string
	// Digest is ImageID's digest, or Spec's until the container started.
	Digest string
	Ready  bool
}

// PodImages lists the images of the service's pods in a namespace that are
// not being deleted.
func (r *Rehearsal) PodImages(ctx context.Context, svc *Service, namespace string) ([]PodImage, error) {
	cs, err := r.opts.Env.Client(namespace)
	if err != nil {
		return nil, err
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appSelector(svc)})
	if err != nil {
		return nil, fmt.Errorf("list the pods of %s: %w", namespace, err)
	}
	var out []PodImage
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		pi := PodImage{Pod: p.Name}
		for _, c := range p.Spec.Containers {
			if c.Name == svc.Name() {
				pi.Spec = c.Image
			}
		}
		for _, st := range p.Status.ContainerStatuses {
			if st.Name == svc.Name() {
				pi.ImageID, pi.Ready = st.ImageID, st.Ready
			}
		}
		pi.Digest = digestOf(pi.ImageID)
		if pi.Digest == "" {
			pi.Digest = digestOf(pi.Spec)
		}
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod < out[j].Pod })
	return out, nil
}

// RunningDigests returns the distinct digests the service's pods in a
// namespace run (sorted): what the node reports, or for a pod whose
// container has not started yet (say, one the autoscaler just added), the
// digest its spec pins.
func (r *Rehearsal) RunningDigests(ctx context.Context, svc *Service, namespace string) ([]string, error) {
	pods, err := r.PodImages(ctx, svc, namespace)
	if err != nil {
		return nil, err
	}
	if len(pods) == 0 {
		return nil, fmt.Errorf("no pod of service %s runs in %s", svc.Name(), namespace)
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range pods {
		if p.Digest == "" {
			return nil, fmt.Errorf("pod %s in %s runs %q, which is not pinned to a digest", p.Pod, namespace, p.Spec)
		}
		if !seen[p.Digest] {
			seen[p.Digest] = true
			out = append(out, p.Digest)
		}
	}
	sort.Strings(out)
	return out, nil
}

// digestOf returns the sha256:... of REPO@sha256:..., or of a bare digest.
func digestOf(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	return ""
}
