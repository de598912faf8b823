package deploy

import (
	"fmt"
	"strings"
	"time"
)

// writeDetails renders the strategy, the canary's steps, the objects'
// health and what was pruned.
func (s *Summary) writeDetails(b *strings.Builder) {
	if s.Strategy != "" {
		fmt.Fprintf(b, "  strategy:   %s\n", s.Strategy)
	}
	if c := s.Canary; c != nil {
		fmt.Fprintf(b, "  canary:     %s, %s, source %s\n", c.Deployment, c.Share, c.Source)
		if c.Verdict != "" {
			fmt.Fprintf(b, "  canary verdict: %s after %s: %s\n", c.Verdict, time.Duration(c.VerdictAfter).Round(time.Millisecond), c.Reason)
		}
		for _, st := range c.Steps {
			fmt.Fprintf(b, "    . %s\n", st)
		}
	}
	if len(s.Health) > 0 {
		var notCurrent []string
		for _, h := range s.Health {
			if h.Status != "Current" {
				notCurrent = append(notCurrent, h.Object+" "+h.Status+": "+h.Message)
			}
		}
		fmt.Fprintf(b, "  health:     %d of %d objects Current (kstatus)\n", len(s.Health)-len(notCurrent), len(s.Health))
		for _, n := range notCurrent {
			fmt.Fprintf(b, "    . %s\n", n)
		}
	}
	for _, p := range s.Pruned {
		fmt.Fprintf(b, "  pruned:     %s\n", p)
	}
	for _, p := range s.WouldPrune {
		fmt.Fprintf(b, "  would prune: %s\n", p)
	}
}
