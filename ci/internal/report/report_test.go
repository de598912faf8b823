package report

import (
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	var s Summary
	s.Add(Stage{Name: "unit", ExitCode: 1, Reports: []string{"unit.xml"}})
	s.Add(Stage{Name: "lint", ExitCode: 0, Reports: []string{"lint.xml", "lint.txt"}})
	s.Add(Stage{Name: "integration", Skipped: true, Reason: "no --db-password"})
	s.Add(Stage{Name: "build", ExitCode: 2, Reason: "compile error"})

	if got, want := strings.Join(s.Failed(), ","), "build,unit"; got != want {
		t.Fatalf("Failed() = %q, want %q", got, want)
	}
	err := s.Err()
	if err == nil {
		t.Fatal("Err() = nil, want an error naming the failed stages")
	}
	for _, want := range []string{"unit failed (exit code 1); see unit.xml", "build failed (exit code 2): compile error"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "lint") || strings.Contains(err.Error(), "integration") {
		t.Errorf("Err() = %q names a stage that did not fail", err)
	}

	js, err := s.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse(JSON()) error = %v", err)
	}
	if back.Err() == nil || len(back.Stages) != 4 {
		t.Fatalf("round trip lost data: %+v", back)
	}
	text := s.Text()
	for _, want := range []string{"integration  skipped  (no --db-password)", "unit         exit 1", "lint         passed"} {
		if !strings.Contains(text, want) {
			t.Errorf("Text() = %q, want it to contain %q", text, want)
		}
	}
}

func TestSummaryReplaceAndPass(t *testing.T) {
	var s Summary
	s.Add(Stage{Name: "unit", ExitCode: 1})
	s.Add(Stage{Name: "unit", ExitCode: 0})
	if len(s.Stages) != 1 || s.Err() != nil {
		t.Fatalf("Add did not replace the earlier record: %+v", s)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "{}", `{"stages":[]}`, `{"stages":[{"exitCode":1}]}`, "not json"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) = nil error", in)
		}
	}
}

func TestTail(t *testing.T) {
	if got := Tail("a\nb\nc\nd\n", 2); got != "c\nd" {
		t.Fatalf("Tail = %q", got)
	}
	if got := Tail("a", 5); got != "a" {
		t.Fatalf("Tail = %q", got)
	}
}
