//go:build e2e

package rehearsal_test

import (
	"strings"
	"testing"
	"time"

	"dagger/pipeline/cmdline"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/rehearsal"
)

// testCanary shortens production's canary for the test (deploy's defaults
// are a 2m window, a look every 10s and 100 requests).
var testCanary = cmdline.Canary{Window: "20s", Interval: "2s", MinRequests: 50}

// TestCanary: a release that is ready and healthy but fails 3 in 10 of its
// requests in production only passes staging and acceptance, is promoted,
// and is stopped by production's canary with the measured error ratio;
// production keeps serving the previous digest, and of the probe loop's
// requests only the canary's share ever failed. A good release then passes
// the canary.
func TestCanary(t *testing.T) {
	ctx := testContext(t)
	goodRelease(t)
	before := productionState(ctx, t)
	p := probeProduction(ctx, t)
	rel, runErr := r.Run(ctx, orders, rehearsal.BuildOptions{Fault: rehearsal.FaultProductionErrors})
	returned := time.Now()
	// Keep probing a little after deploy returned: 20 more requests.
	if err := p.more(ctx, 20); err != nil {
		t.Errorf("the probe made no 20 requests after deploy returned: %v", err)
	}
	res := p.stop()
	t.Logf("probe: %d requests, %d failed", res.requests, len(res.failures))

	stoppedInProduction(t, rel, runErr, "the release failing a share of its production requests reached production")
	sum := rel.Production
	if sum.Outcome != deploy.CanaryFailed || sum.Canary == nil || sum.Canary.Verdict != deploy.VerdictFail {
		t.Fatalf("production deploy outcome %q canary %+v, want the canary to fail", sum.Outcome, sum.Canary)
	}
	c := sum.Canary
	if !strings.Contains(c.Reason, "canary error ratio") || c.Canary.ErrorRatio < 0.2 || c.Canary.ErrorRatio > 0.4 || c.Stable.ErrorRatio != 0 {
		t.Errorf("canary reason %q (canary ratio %.3f, stable %.3f): want the measured error ratio, about 30%% against 0", c.Reason, c.Canary.ErrorRatio, c.Stable.ErrorRatio)
	}
	t.Logf("figures: the bad canary answered %v requests (%v with 5xx) before the verdict, %s after it was created (ready after %s); %s",
		c.Canary.Requests, c.Canary.Errors, time.Duration(c.VerdictAfter).Round(time.Millisecond), time.Duration(c.ReadyAfter).Round(time.Millisecond), c.Reason)

	// Production on the previous digest, the canary gone.
	after := productionState(ctx, t)
	if after.image != before.image || after.digests != before.digests || after.revision != before.revision {
		t.Errorf("production runs %s (image %s, revision %s), want the previous %s (%s, revision %s)", after.digests, after.image, after.revision, before.digests, before.image, before.revision)
	}
	// Only the canary's share failed: 1 pod of 4 answering 3 in 10 with
	// 500 is 7.5% at most, and nothing after deploy returned.
	if res.requests < 20 {
		t.Errorf("the probe made only %d requests", res.requests)
	}
	if share := float64(len(res.failures)) / float64(max(res.requests, 1)); share > 0.3/float64(1+3)+0.05 {
		t.Errorf("%.1f%% of the probe's requests failed, more than the canary's share", 100*share)
	}
	for _, f := range res.failures {
		if !strings.Contains(f, "500") {
			t.Errorf("a probe request failed other than with the canary's 500: %s", f)
		}
		at, err := time.ParseInLocation("15:04:05.000", f[:12], time.Local)
		if err == nil {
			y, m, d := returned.Date()
			if at = at.AddDate(y, int(m)-1, d-1); at.After(returned.Add(time.Second)) {
				t.Errorf("a probe request failed after deploy returned (%s): %s", returned.Format("15:04:05.000"), f)
			}
		}
	}

	t.Run("a good release passes the canary", func(t *testing.T) {
		p := probeProduction(ctx, t)
		rel, err := r.Run(ctx, orders, rehearsal.BuildOptions{Created: time.Now().UTC().Format(time.RFC3339)})
		res := p.stop()
		if err != nil {
			t.Fatalf("a good release: %v", err)
		}
		sum := rel.Production
		if sum.Outcome != deploy.Deployed || sum.Strategy != deploy.StrategyCanary || sum.Canary == nil || sum.Canary.Verdict != deploy.VerdictPass {
			t.Fatalf("production outcome %q strategy %q canary %+v, want a passed canary", sum.Outcome, sum.Strategy, sum.Canary)
		}
		if len(res.failures) > 0 {
			t.Errorf("%d of %d probe requests failed during a good canary release, first: %s", len(res.failures), res.requests, res.failures[0])
		}
		t.Logf("figures: the good canary release of production took %s (canary window %s, verdict %s after the canary was created)",
			time.Duration(sum.Duration).Round(time.Millisecond), time.Duration(sum.Canary.Window), time.Duration(sum.Canary.VerdictAfter).Round(time.Millisecond))
	})
}
