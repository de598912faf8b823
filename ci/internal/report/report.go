// Package report records the outcome of the pipeline's check stages next to
// their reports, so a run that failed still hands back every report and says
// which stage failed.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// SummaryFile is the name of the machine-readable summary in a reports directory.
const SummaryFile = "summary.json"

// TextFile is the name of the human-readable summary in a reports directory.
const TextFile = "summary.txt"

// Stage is the outcome of one check stage.
type Stage struct {
	Name     string   `json:"name"`
	ExitCode int      `json:"exitCode"`
	Skipped  bool     `json:"skipped,omitempty"`
	Reason   string   `json:"reason,omitempty"`  // why it was skipped, or how it failed
	Reports  []string `json:"reports,omitempty"` // files in the reports directory
}

// Failed reports whether the stage ran and failed.
func (s Stage) Failed() bool { return !s.Skipped && s.ExitCode != 0 }

// Summary is the outcome of a run of several stages.
type Summary struct {
	Stages []Stage `json:"stages"`
}

// Add records a stage, replacing an earlier record of the same name.
func (s *Summary) Add(st Stage) {
	for i := range s.Stages {
		if s.Stages[i].Name == st.Name {
			s.Stages[i] = st
			return
		}
	}
	s.Stages = append(s.Stages, st)
	sort.SliceStable(s.Stages, func(i, j int) bool { return s.Stages[i].Name < s.Stages[j].Name })
}

// Failed returns the names of the stages that failed.
func (s Summary) Failed() []string {
	var out []string
	for _, st := range s.Stages {
		if st.Failed() {
			out = append(out, st.Name)
		}
	}
	return out
}

// Err returns an error naming every failed stage and its reports, or nil
// when all stages that ran passed.
func (s Summary) Err() error {
	var msgs []string
	for _, st := range s.Stages {
		if !st.Failed() {
			continue
		}
		m := fmt.Sprintf("%s failed (exit code %d)", st.Name, st.ExitCode)
		if st.Reason != "" {
			m += ": " + st.Reason
		}
		if len(st.Reports) > 0 {
			m += "; see " + strings.Join(st.Reports, ", ")
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// JSON encodes the summary.
func (s Summary) JSON() (string, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode summary: %w", err)
	}
	return string(b) + "\n", nil
}

// Text renders the summary as a small table.
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-12s %-8s %s\n", "STAGE", "RESULT", "REPORTS")
	for _, st := range s.Stages {
		result := "passed"
		switch {
		case st.Skipped:
			result = "skipped"
		case st.Failed():
			result = fmt.Sprintf("exit %d", st.ExitCode)
		}
		reports := strings.Join(st.Reports, " ")
		if st.Skipped && st.Reason != "" {
			reports = "(" + st.Reason + ")"
		}
		fmt.Fprintf(&b, "%-12s %-8s %s\n", st.Name, result, reports)
	}
	return b.String()
}

// Parse decodes a summary written by JSON.
func Parse(data []byte) (Summary, error) {
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return Summary{}, fmt.Errorf("parse %s: %w", SummaryFile, err)
	}
	if len(s.Stages) == 0 {
		return Summary{}, fmt.Errorf("parse %s: no stages recorded; pass the directory `ci` exported", SummaryFile)
	}
	for i, st := range s.Stages {
		if st.Name == "" {
			return Summary{}, fmt.Errorf("parse %s: stage %d has no name", SummaryFile, i)
		}
	}
	return s, nil
}

// Tail returns at most n trailing lines of out, for error messages.
func Tail(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
