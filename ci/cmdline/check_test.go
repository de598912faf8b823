package cmdline

import (
	"reflect"
	"strings"
	"testing"

	"dagger/pipeline/settings"
)

func TestCheckArgs(t *testing.T) {
	// The lines CheckArgs builds are parsed by the check runner's own flags in
	// cmd/check/contract_test.go; here, its validation.
	for _, b := range []struct {
		o       CheckOptions
		wantErr string
	}{
		{CheckOptions{Stage: "deploy", Source: "/src", Reports: "/r"}, `check "deploy" is not one of`},
		{CheckOptions{Stage: "unit", Reports: "/r"}, "the source and the reports directory are required"},
		{CheckOptions{Stage: "unit", Source: "/src"}, "the source and the reports directory are required"},
	} {
		if _, err := CheckArgs("check", b.o); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("CheckArgs(%+v) error = %v, want %q", b.o, err, b.wantErr)
		}
	}
}

func TestToolAndReports(t *testing.T) {
	if got := Tool("", "gotestsum", "--x"); !reflect.DeepEqual(got, []string{"gotestsum", "--x"}) {
		t.Errorf("Tool from PATH = %q", got)
	}
	if got := Tool("/r/hack/tools/go.mod", "govulncheck"); !reflect.DeepEqual(got, []string{"go", "tool", "-modfile=/r/hack/tools/go.mod", "govulncheck"}) {
		t.Errorf("Tool with modfile = %q", got)
	}
	lint := strings.Join(LintArgs("/c.yml", "/rep"), " ")
	for _, w := range []string{"--config /c.yml", "--output.junit-xml.path /rep/lint.xml", "--output.sarif.path /rep/lint.sarif", "--output.text.path stdout", " ./..."} {
		if !strings.Contains(lint, w) {
			t.Errorf("LintArgs = %q lacks %q", lint, w)
		}
	}
	if got := VulnArgs("sarif", "file:///db", "./cmd/..."); !reflect.DeepEqual(got, []string{"-format", "sarif", "-db", "file:///db", "./cmd/..."}) {
		t.Errorf("VulnArgs = %q", got)
	}
}

func TestGoTestArgs(t *testing.T) {
	s, err := settings.Service{Integration: settings.Integration{Tag: "db", Packages: "./store/..."}}.Resolve("example.com/svc")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]string{
		"unit":        {"-race", "-count=1", "./..."},
		"integration": {"-tags", "db", "-count=1", "-p", "1", "./store/..."},
		"acceptance":  {"-tags", "acceptance", "-count=1", "./acceptance/..."},
	}
	for stage, want := range tests {
		got, err := GoTestArgs(stage, s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("GoTestArgs(%s) = %q, %v; want %q", stage, got, err, want)
		}
	}
	if _, err := GoTestArgs("lint", s); err == nil {
		t.Error("GoTestArgs(lint): want an error")
	}
	got := GotestsumArgs("unit", "/rep", "", "-count=1", "./...")
	want := []string{"--format", "testname", "--junitfile", "/rep/unit.xml", "--junitfile-testsuite-name", "relative", "--jsonfile", "/rep/unit.json", "--", "-count=1", "./..."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GotestsumArgs = %q\nwant %q", got, want)
	}
}
