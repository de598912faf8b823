package rehearsal

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Stage is the record of one stage of the release path.
type Stage struct {
	// Name, e.g. "publish" or "deploy production".
	Name string
	// Service is the name of the service released, if the stage is one's.
	Service string
	// Started and Duration of the stage.
	Started  time.Time
	Duration time.Duration
	// Digest the stage handled (sha256:...), when it handled one.
	Digest string
	// Ref is the reference the stage returned or acted on.
	Ref string
	// Detail is a short result, e.g. "6 tests passed" or "rolled-back".
	Detail string
	// Err is why the stage failed; nil when it succeeded.
	Err error
}

// OK reports whether the stage succeeded.
func (s Stage) OK() bool { return s.Err == nil }

// Stages returns the stages run so far, in order.
func (r *Rehearsal) Stages() []Stage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Stage(nil), r.stages...)
}

// record runs fn as a stage and records it.
func (r *Rehearsal) record(svc *Service, name string, fn func(s *Stage) error) (Stage, error) {
	s := Stage{Name: name, Started: time.Now()}
	if svc != nil {
		s.Service = svc.Name()
	}
	r.log.Info("stage started", "stage", name, "service", s.Service)
	err := fn(&s)
	s.Duration = time.Since(s.Started)
	if err != nil {
		s.Err = fmt.Errorf("%s: %w", name, err)
	}
	r.mu.Lock()
	r.stages = append(r.stages, s)
	r.mu.Unlock()
	if err != nil {
		r.log.Error("stage failed", "stage", name, "took", s.Duration.Round(time.Millisecond))
		return s, s.Err
	}
	r.log.Info("stage done", "stage", name, "took", s.Duration.Round(time.Millisecond), "digest", s.Digest, "detail", s.Detail)
	return s, nil
}

// WriteSummary prints the stages as a table: stage, result, duration, the
// digest handled and what the stage returned or did.
func WriteSummary(w io.Writer, stages []Stage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tRESULT\tDURATION\tDIGEST\tDETAIL")
	var total time.Duration
	var digests []string
	for _, s := range stages {
		result := "ok"
		if !s.OK() {
			result = "FAILED"
		}
		total += s.Duration
		detail := s.Detail
		if s.Ref != "" {
			if detail != "" {
				detail += ": "
			}
			detail += s.Ref
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.label(), result, s.Duration.Round(100*time.Millisecond), short(s.Digest), detail)
		if s.Digest != "" && !contains(digests, s.Digest) {
			digests = append(digests, s.Digest)
		}
	}
	fmt.Fprintf(tw, "total\t\t%s\t\t\n", total.Round(100*time.Millisecond))
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	for _, d := range digests {
		if _, err := fmt.Fprintf(w, "%s = %s\n", short(d), d); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	for _, s := range stages {
		if !s.OK() {
			if _, err := fmt.Fprintf(w, "\nstage %q failed: %v\n", s.label(), s.Err); err != nil {
				return fmt.Errorf("write summary: %w", err)
			}
		}
	}
	return nil
}

// label is the stage's name, with its service's when it has one.
func (s Stage) label() string {
	if s.Service == "" {
		return s.Name
	}
	return s.Service + ": " + s.Name
}

// short abbreviates sha256:<64 hex> to sha256:<12 hex>.
func short(d string) string {
	if strings.HasPrefix(d, "sha256:") && len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
