package modinfo

import (
	"path/filepath"
	"strings"
	"testing"
)

// sideEffects are the functions that change the world outside the engine:
// they must never be served from Dagger's function cache.
var sideEffects = []string{"Publish", "Promote", "Deploy", "AcceptanceTest"}

func loadPipeline(t *testing.T) *Module {
	t.Helper()
	m, err := Load(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPipelineModuleDocumented fails when an exported function or argument of
// the pipeline module lacks a doc comment (it is what `dagger call --help`
// shows), when a type cannot be exposed, or when a side-effecting function
// lacks +cache="never".
func TestPipelineModuleDocumented(t *testing.T) {
	m := loadPipeline(t)
	if problems := Lint(m, sideEffects); len(problems) > 0 {
		t.Fatalf("module problems:\n%s", strings.Join(problems, "\n"))
	}
}

// TestPipelineModuleAPI pins the functions and flags other parts of the
// project (azure-pipelines.yml, README, ci/tests) rely on.
func TestPipelineModuleAPI(t *testing.T) {
	m := loadPipeline(t)
	want := map[string][]string{
		"lint":             {"no-fail"},
		"vuln":             {"no-fail"},
		"unit-test":        {"no-fail"},
		"integration-test": {"db-password", "no-fail"},
		"acceptance":       {"db-password", "no-fail"},
		"ci":               {"db-password", "skip", "no-fail"},
		"settings":         nil,
		"check-reports":    {"reports"},
		"build":            nil,
		"binary":           {"platform"},
		"container":        {"platform"},
		"publish":          {"registry", "repository", "username", "password", "signing-key", "signing-key-password", "kms-key", "tags"},
		"promote":          {"from", "to", "source-public-key", "signing-key", "allow-unaccepted", "target-username", "target-password"},
		"deploy":           {"kubeconfig", "environment", "image", "namespace", "timeout", "rollback", "cluster"},
		"acceptance-test":  {"url", "service", "image", "environment", "signing-key", "no-fail"},
	}
	for fn, flags := range want {
		f, ok := m.Function(m.MainObject, fn)
		if !ok {
			t.Errorf("function %s missing", fn)
			continue
		}
		for _, fl := range flags {
			if _, ok := f.Arg(fl); !ok {
				t.Errorf("%s: flag --%s missing", fn, fl)
			}
		}
	}
	for _, secret := range []string{"db-password"} {
		f, _ := m.Function(m.MainObject, "ci")
		if a, ok := f.Arg(secret); !ok || !a.IsSecret() {
			t.Errorf("ci --%s must be a *dagger.Secret", secret)
		}
	}
	src := m.Constructor.Args[0]
	if src.GoName != "source" || src.Pragmas["defaultPath"] != `"/"` || !strings.Contains(src.Pragmas["ignore"], `".git"`) {
		t.Errorf("constructor source argument = %+v: want +defaultPath=\"/\" and +ignore with .git", src)
	}
	// Files that look like credentials never enter the source.
	for _, p := range []string{`"**/*.key"`, `"**/*.pem"`, `"**/*kubeconfig*"`, `"**/.env"`} {
		if !strings.Contains(src.Pragmas["ignore"], p) {
			t.Errorf("constructor source +ignore lacks %s", p)
		}
	}
	// The tools come from the module's own repository, narrowed to what builds them.
	tools := m.Constructor.Args[1]
	if tools.GoName != "tools" || tools.Pragmas["defaultPath"] != `"/"` {
		t.Fatalf("constructor tools argument = %+v: want +defaultPath=\"/\"", tools)
	}
	for _, p := range []string{`"*"`, `"!go.mod"`, `"!go.sum"`, `"!cmd"`, `"!internal"`, `"!hack/tools"`, `"!ci/go.mod"`, `"!ci/cmdline"`, `"!ci/settings"`, `"!ci/golangci.default.yml"`} {
		if !strings.Contains(tools.Pragmas["ignore"], p) {
			t.Errorf("constructor tools +ignore lacks %s", p)
		}
	}
}

// TestChecksAndCaching pins which functions `dagger check` runs (those that
// need no argument) and that each function's caching is a stated decision:
// its doc comment says how it is cached and why.
func TestChecksAndCaching(t *testing.T) {
	m := loadPipeline(t)
	checks := map[string]bool{"Lint": true, "Vuln": true, "UnitTest": true, "IntegrationTest": true, "Acceptance": true, "Build": true}
	session := map[string]bool{"Lint": true, "Vuln": true, "UnitTest": true, "IntegrationTest": true, "Acceptance": true, "Ci": true}
	for _, f := range m.Objects[m.MainObject].Functions {
		_, isCheck := f.Pragmas["check"]
		if isCheck != checks[f.GoName] {
			t.Errorf("%s: +check = %t, want %t", f.GoName, isCheck, checks[f.GoName])
		}
		if isCheck {
			for _, a := range f.Args {
				if !a.Optional() {
					t.Errorf("%s is a check but argument %s is required: dagger check cannot call it", f.GoName, a.GoName)
				}
			}
		}
		if session[f.GoName] && f.Pragmas["cache"] != `"session"` {
			t.Errorf("%s: +cache = %s, want \"session\" so that a failed check runs again on the next call", f.GoName, f.Pragmas["cache"])
		}
		if !strings.Contains(strings.ToLower(f.Doc), "cach") {
			t.Errorf("%s: its doc comment does not state its caching decision", f.GoName)
		}
	}
}

func TestReadConfig(t *testing.T) {
	cfg, err := ReadConfig(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "pipeline" || cfg.Source != "ci" || cfg.SDK.Source != "go" || cfg.EngineVersion != "v0.21.9" {
		t.Fatalf("dagger.json = %+v", cfg)
	}
	if _, err := ReadConfig(t.TempDir()); err == nil {
		t.Fatal("ReadConfig of a directory without dagger.json: want an error")
	}
}
