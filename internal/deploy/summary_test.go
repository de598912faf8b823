package deploy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSummaryJSONRoundTrip checks that a Summary written by --summary-file
// reads back as the same Summary (durations at millisecond precision).
func TestSummaryJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Summary
		want Summary // what reads back; zero: same as in
	}{
		{
			name: "deployed",
			in: Summary{Environment: "staging", Namespace: "staging", Deployment: "orders",
				Image: "r.example/orders@sha256:aa", Revision: "2", Outcome: Deployed, Duration: Duration(12*time.Second + 345*time.Millisecond)},
		},
		{
			name: "rolled back with reasons and failure time",
			in: Summary{Environment: "production", Namespace: "production", Deployment: "orders",
				Image: "r.example/orders@sha256:bb", PreviousImage: "r.example/orders@sha256:aa", Revision: "4",
				Outcome: RolledBack, Duration: Duration(2*time.Minute + 3*time.Second), FailureDetectedAfter: Duration(1500 * time.Millisecond),
				Reasons: []string{"pod orders-x: exit code 1", "Back-off restarting failed container"}},
		},
		{
			name: "interrupted during the watch",
			in: Summary{Environment: "staging", Namespace: "staging", Deployment: "orders", Image: "r.example/orders@sha256:bb", Outcome: Interrupted,
				Interrupted: &Interruption{Stage: StageWatch, Cause: "received SIGTERM", Changed: true, TargetRevision: "4", TargetImage: "r.example/orders@sha256:bb",
					Rollout: "in progress: 0 of 1 updated replicas available", Serving: []ServingRevision{{Revision: "3", Image: "r.example/orders@sha256:aa", AvailablePods: 2}},
					Rollback: RollbackNotDue, Left: []string{"run deploy again"}}},
		},
		{
			name: "zero durations",
			in:   Summary{Environment: "staging", Outcome: Validated},
		},
		{
			name: "sub-millisecond precision is rounded on write",
			in:   Summary{Environment: "staging", Outcome: Unchanged, Duration: Duration(1234567 * time.Microsecond)},
			want: Summary{Environment: "staging", Outcome: Unchanged, Duration: Duration(1235 * time.Millisecond)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if reflect.DeepEqual(want, Summary{}) {
				want = tc.in
			}
			data, err := json.Marshal(&tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var got Summary
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("unmarshal %s: %v", data, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", data, got, want)
			}
		})
	}
}

func TestDurationUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{`"1m2.5s"`, Duration(62500 * time.Millisecond), ""},
		{`"0s"`, 0, ""},
		{`null`, Duration(7), ""}, // left unchanged
		{`"soon"`, 0, `duration "soon"`},
		{`1500`, 0, "Go duration string"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d := Duration(7)
			err := json.Unmarshal([]byte(tc.in), &d)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d != tc.want {
				t.Errorf("got %v, want %v", time.Duration(d), time.Duration(tc.want))
			}
		})
	}
}
