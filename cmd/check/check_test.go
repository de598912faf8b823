package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dagger/pipeline/settings"
)

// writeFiles creates files (path -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseArgs([]string{"integration", "--source", "/s", "--reports", "/r", "--settings", "p.yaml", "--packages", "./a/... ./b"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.stage != "integration" || c.source != "/s" || c.reports != "/r" || c.settingsFile != "p.yaml" || strings.Join(c.packages, ",") != "./a/...,./b" {
		t.Fatalf("parseArgs = %+v", c)
	}
	bad := []struct {
		args []string
		want string
	}{
		{nil, "usage: check"},
		{[]string{"--source", "."}, "usage: check"},
		{[]string{"deploy"}, `unknown check "deploy"`},
		{[]string{"lint", "--packages", "/abs/..."}, "--packages"},
		{[]string{"lint", "extra"}, "unexpected arguments"},
		{[]string{"lint", "--no-such-flag"}, "no-such-flag"},
	}
	for _, b := range bad {
		stderr.Reset()
		_, err := parseArgs(b.args, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), b.want) {
			t.Errorf("parseArgs(%q) error = %v (stderr %q), want %q", b.args, err, stderr.String(), b.want)
		}
	}
}

func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"svc/go.mod":    "module example.com/greeter\n\ngo 1.26\n",
		"pipeline.yaml": "module: svc\nmain: ./cmd/greeter\nintegration:\n  tag: db\n",
		"bad.yaml":      "module: svc\nmian: ./cmd/greeter\n",
		"invalid.yaml":  "module: svc\nintegration:\n  tag: \"no spaces\"\n",
	})
	s, err := loadSettings(config{source: dir, settingsFile: filepath.Join(dir, "pipeline.yaml"), vulnAllow: "allow.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Module != "svc" || s.Binary != "greeter" || s.Integration.Tag != "db" || s.Vuln.Allow != "allow.txt" || s.Acceptance.Tag != "acceptance" {
		t.Fatalf("loadSettings = %+v", s)
	}
	// --module overrides the file; without a file, defaults.
	if _, err := loadSettings(config{source: dir, module: "."}); err == nil || !strings.Contains(err.Error(), "--module") {
		t.Errorf("loadSettings of a directory without go.mod: error = %v, want one naming --module", err)
	}
	if _, err := loadSettings(config{source: dir, settingsFile: filepath.Join(dir, "bad.yaml")}); err == nil || !strings.Contains(err.Error(), "mian") {
		t.Errorf("loadSettings with a misspelt field: error = %v, want one naming it", err)
	}
	var serr *settings.Error
	if _, err := loadSettings(config{source: dir, settingsFile: filepath.Join(dir, "invalid.yaml")}); !errors.As(err, &serr) || serr.Field != "integration.tag" {
		t.Errorf("loadSettings with an invalid tag: error = %v, want a *settings.Error for integration.tag", err)
	}
}

func TestLintConfigChoice(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"own/go.mod":         "module example.com/own\n\ngo 1.26\n",
		"own/.golangci.yml":  "version: \"2\"\n",
		"bare/go.mod":        "module example.com/bare\n\ngo 1.26\n",
		"configs/strict.yml": "version: \"2\"\n",
		"default.yml":        "version: \"2\"\n",
	})
	def := filepath.Join(dir, "default.yml")
	tests := []struct {
		name   string
		cfg    config
		want   string
		errHas string
	}{
		{"the module's own", config{source: dir, module: "own", defaultLintConfig: def}, filepath.Join(dir, "own", ".golangci.yml"), ""},
		{"the default", config{source: dir, module: "bare", defaultLintConfig: def}, def, ""},
		{"named in the settings", config{source: dir, module: "own", lintConfig: "configs/strict.yml", defaultLintConfig: def}, filepath.Join(dir, "configs", "strict.yml"), ""},
		{"named but missing", config{source: dir, module: "own", lintConfig: "configs/none.yml"}, "", "lint.config"},
		{"no default", config{source: dir, module: "bare"}, "", "--default-lint-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.reports = t.TempDir()
			c, err := newChecker(tt.cfg, &bytes.Buffer{}, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.lintConfig()
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("lintConfig error = %v, want %q", err, tt.errHas)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("lintConfig = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// repoRoot is this repository's root, for its pinned tools.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

type junit struct {
	Suites []struct {
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestUnitAndIntegrationChecks runs the unit and integration checks for real
// (gotestsum and go test from hack/tools/go.mod) on a scratch service: the
// integration check selects tests by the settings' tag, a failing test fails
// the check, and the JUnit report names it.
func TestUnitAndIntegrationChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"pipeline.yaml":               "module: svc\nintegration:\n  tag: dbtests\n",
		"svc/go.mod":                  "module example.com/svc\n\ngo 1.26\n",
		"svc/svc.go":                  "package svc\n\n// Answer returns 42.\nfunc Answer() int { return 42 }\n",
		"svc/svc_test.go":             "package svc\n\nimport \"testing\"\n\nfunc TestAnswer(t *testing.T) {\n\tif Answer() != 42 {\n\t\tt.Fatal(\"wrong\")\n\t}\n}\n",
		"svc/svc_integration_test.go": "//go:build dbtests\n\npackage svc\n\nimport \"testing\"\n\nfunc TestTagged(t *testing.T) {\n\tt.Fatal(\"the integration test ran and failed\")\n}\n",
	})
	modfile := filepath.Join(repoRoot(t), "hack", "tools", "go.mod")
	runCheck := func(stage string) (int, string, *junit) {
		reports := t.TempDir()
		var out, errOut bytes.Buffer
		code := run(ctx, []string{stage, "--source", dir, "--settings", filepath.Join(dir, "pipeline.yaml"),
			"--reports", reports, "--tools-modfile", modfile}, &out, &errOut)
		data, err := os.ReadFile(filepath.Join(reports, stage+".xml"))
		if err != nil {
			t.Fatalf("%s: no JUnit report: %v\n%s%s", stage, err, out.String(), errOut.String())
		}
		var j junit
		if err := xml.Unmarshal(data, &j); err != nil {
			t.Fatalf("%s: JUnit report: %v", stage, err)
		}
		return code, out.String() + errOut.String(), &j
	}
	names := func(j *junit) (all, failed []string) {
		for _, s := range j.Suites {
			for _, c := range s.Cases {
				all = append(all, c.Name)
				if c.Failure != nil {
					failed = append(failed, c.Name)
				}
			}
		}
		return all, failed
	}
	code, log, j := runCheck("unit")
	if all, failed := names(j); code != 0 || strings.Join(all, ",") != "TestAnswer" || len(failed) != 0 {
		t.Fatalf("unit check: exit %d, cases %v, failed %v; want exit 0 and only TestAnswer passing\n%s", code, all, failed, log)
	}
	code, log, j = runCheck("integration")
	if all, failed := names(j); code != 1 || strings.Join(failed, ",") != "TestTagged" || len(all) != 2 {
		t.Fatalf("integration check: exit %d, cases %v, failed %v; want exit 1 with TestTagged failing\n%s", code, all, failed, log)
	}
}
