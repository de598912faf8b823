package typecheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dagger/pipeline/internal/modinfo"
)

// repoRoot is the repository root, which holds dagger.json.
var repoRoot = filepath.Join("..", "..", "..")

// TestRepositoryModulesTypeCheck is the check CI runs: the pipeline module and
// its test module compile and vet against the real SDK.
func TestRepositoryModulesTypeCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	checked, err := CheckRepository(ctx, repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(checked) != 2 {
		t.Fatalf("checked %v, want the pipeline module and its test module", checked)
	}
}

// scratchModule copies the repository's dagger.json and module source to a
// temporary repository, with edit applied to the named file.
func scratchModule(t *testing.T, file string, edit func(string) string) string {
	t.Helper()
	root := t.TempDir()
	data, err := os.ReadFile(filepath.Join(repoRoot, "dagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "dagger.json"), data, 0o600); err != nil { //nolint:gosec // a test's temporary directory
		t.Fatal(err)
	}
	if err := copyModule(filepath.Join(repoRoot, "ci"), filepath.Join(root, "ci")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "ci", file)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(src))
	if changed == string(src) {
		t.Fatalf("edit did not change %s", file)
	}
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestWrongSDKCallFails proves the check bites: each deliberately wrong use
// of the SDK in a scratch copy of the module fails it, naming the problem.
func TestWrongSDKCallFails(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{
			name: "unknown method", file: "checks.go",
			old:  `WithDirectory(reportDir, dag.Directory())`,
			new:  `WithDirectoryy(reportDir, dag.Directory())`,
			want: "WithDirectoryy",
		},
		{
			name: "unknown option field", file: "checks.go",
			old:  `dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}`,
			new:  `dagger.ContainerWithExecOpts{ExpectCode: dagger.ReturnTypeAny}`,
			want: "ExpectCode",
		},
		{
			name: "wrong argument type", file: "database.go",
			old:  `WithSecretVariable("POSTGRES_PASSWORD", password)`,
			new:  `WithSecretVariable("POSTGRES_PASSWORD", "plaintext")`,
			want: "cannot use \"plaintext\"",
		},
		{
			name: "wrong enum type", file: "checks.go",
			old:  `Expect: dagger.ReturnTypeAny`,
			new:  `Expect: dagger.CacheSharingModeLocked`,
			want: "CacheSharingModeLocked",
		},
		{
			name: "function signature Dagger cannot call", file: "checks.go",
			old:  "func (m *Pipeline) CheckReports(\n\tctx context.Context,",
			new:  "func (m *Pipeline) CheckReports(\n\tctx context.Context,\n\t// Extra.\n\textra chan int,",
			want: "extra",
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := scratchModule(t, tt.file, func(s string) string { return strings.Replace(s, tt.old, tt.new, 1) })
			err := Check(ctx, Options{Dir: root})
			if err == nil {
				t.Fatal("Check passed a module with a wrong SDK call")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check error does not name the problem %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestGeneratedStandIns checks the generated files look like what `dagger
// develop` writes: every SDK type aliased, dag a *Client, a dispatch per function.
func TestGeneratedStandIns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	scratch := t.TempDir()
	if err := Check(ctx, Options{Dir: repoRoot, Scratch: scratch}); err != nil {
		t.Fatal(err)
	}
	client, err := os.ReadFile(filepath.Join(scratch, "internal", "dagger", "dagger.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"type Container = dagger.Container", "type ContainerWithExecOpts = dagger.ContainerWithExecOpts",
		"const ReturnTypeAny = dagger.ReturnTypeAny", "type Platform = dagger.Platform", "func Connect() *Client",
		"type Loadable[T any] = dagger.Loadable[T]",
	} {
		if !strings.Contains(string(client), want) {
			t.Errorf("client stand-in lacks %q", want)
		}
	}
	main, err := os.ReadFile(filepath.Join(scratch, "dagger.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"var dag = dagger.Connect()", "(&parent).Ci(ctx, arg0, arg1, arg2)", "New(arg0, arg1", "func (r *Pipeline) UnmarshalJSON(bs []byte) error"} {
		if !strings.Contains(string(main), want) {
			t.Errorf("main stand-in lacks %q", want)
		}
	}
}

// TestWrongDependencyCallFails proves the test module's calls into the
// pipeline module are checked against the pipeline's real signatures.
func TestWrongDependencyCallFails(t *testing.T) {
	main, err := modinfo.Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"unknown option", "dagger.PipelineCiOpts{NoFail: true}", "dagger.PipelineCiOpts{NoFails: true}", "NoFails"},
		{"unknown function", "CheckReports(ctx, reports)", "CheckReport(ctx, reports)", "CheckReport"},
		{"missing required argument", `p.Deploy(ctx, kubeconfig, "staging", tagged)`, `p.Deploy(ctx, kubeconfig, "staging")`, "not enough arguments"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := copyModule(filepath.Join(repoRoot, "ci", TestModuleDir), dir); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "main.go")
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			changed := strings.Replace(string(src), tt.old, tt.new, 1)
			if changed == string(src) {
				t.Fatalf("%q not found in the test module", tt.old)
			}
			if err := os.WriteFile(path, []byte(changed), 0o600); err != nil { //nolint:gosec // a test's temporary directory
				t.Fatal(err)
			}
			err = Check(ctx, Options{Dir: dir, Deps: map[string]*modinfo.Module{"pipeline": main}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

// TestLintCommandRunsInScratch checks that Options.Lint runs in the scratch
// copy (where the stand-ins make the main package compile) and that its
// failure fails the check with its output, paths mapped back to the module.
func TestLintCommandRunsInScratch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	scratch := t.TempDir()
	lint := []string{"sh", "-c", `test -f dagger.gen.go && test -f internal/dagger/dagger.gen.go && echo "$PWD/main.go:1:1: finding" && exit 3`}
	err := Check(ctx, Options{Dir: repoRoot, Scratch: scratch, Lint: lint})
	if err == nil {
		t.Fatal("a failing lint command did not fail the check")
	}
	abs, aerr := filepath.Abs(filepath.Join(repoRoot, "ci"))
	if aerr != nil {
		t.Fatal(aerr)
	}
	if !strings.Contains(err.Error(), abs+string(filepath.Separator)+"main.go:1:1: finding") {
		t.Fatalf("lint output not mapped back to the module: %v", err)
	}
	if err := Check(ctx, Options{Dir: repoRoot, Lint: []string{"true"}}); err != nil {
		t.Fatalf("a passing lint command failed the check: %v", err)
	}
}
