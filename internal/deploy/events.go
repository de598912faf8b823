package deploy

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// involved is the set of objects whose events explain a rollout: matched by
// kind and UID, so that another kind's object of the same name (the
// HorizontalPodAutoscaler "orders" next to the Deployment "orders") or an
// earlier object of the same name never lends its events.
type involved map[string]bool

func involvedKey(kind string, uid types.UID) string { return kind + "/" + string(uid) }

func (in involved) add(kind string, uid types.UID) {
	if uid != "" {
		in[involvedKey(kind, uid)] = true
	}
}

func (in involved) has(ref corev1.ObjectReference) bool {
	return ref.UID != "" && in[involvedKey(ref.Kind, ref.UID)]
}

// eventsOf keeps the events of the involved objects.
func eventsOf(evs []corev1.Event, in involved) []corev1.Event {
	var out []corev1.Event
	for _, e := range evs {
		if in.has(e.InvolvedObject) {
			out = append(out, e)
		}
	}
	return out
}
