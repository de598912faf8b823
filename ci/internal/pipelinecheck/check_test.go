package pipelinecheck

import (
	"path/filepath"
	"strings"
	"testing"

	"dagger/pipeline/internal/modinfo"
)

var repoRoot = filepath.Join("..", "..", "..")

// PipelineFiles are the Azure Pipelines definitions of the repository.
var pipelineFiles = []string{"azure-pipelines.yml", ".azure-pipelines/cd.yml"}

func load(t *testing.T) (*modinfo.Module, string) {
	t.Helper()
	m, err := modinfo.Load(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := modinfo.ReadConfig(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	return m, cfg.EngineVersion
}

// TestRepositoryPipeline is the check CI runs on the real pipeline files.
func TestRepositoryPipeline(t *testing.T) {
	m, version := load(t)
	problems, err := Check(repoRoot, pipelineFiles, m, version)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestRepositoryPipelineCalls checks the checker saw every call the
// pipeline makes, so a passing TestRepositoryPipeline means something.
func TestRepositoryPipelineCalls(t *testing.T) {
	m, version := load(t)
	c := &Checker{Root: repoRoot, Module: m, EngineVersion: version, variables: map[string]string{}, templates: map[string]bool{}}
	for _, f := range pipelineFiles {
		if err := c.loadPipeline(f); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	for _, j := range c.jobs {
		for _, s := range j.steps {
			if s.call != nil {
				got[s.call.function]++
			}
		}
	}
	want := map[string]int{"ci": 2, "check-reports": 2, "publish": 1, "image-ref": 1, "verify-image": 2, "deploy": 2, "acceptance-test": 1, "promote": 1}
	for fn, n := range want {
		if got[fn] != n {
			t.Errorf("found %d calls of %s, want %d", got[fn], fn, n)
		}
	}
}

// TestBrokenPipeline runs the check on testdata/broken, a copy of the
// pipeline with one mistake of each kind, and expects each to be reported.
func TestBrokenPipeline(t *testing.T) {
	m, version := load(t)
	problems, err := Check(filepath.Join("testdata", "broken"), pipelineFiles, m, version)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range problems {
		all = append(all, p.String())
	}
	joined := strings.Join(all, "\n")
	want := []string{
		// A function the module does not define.
		`the module has no function "unit-tests"`,
		// A flag the module does not define.
		"dagger call ci has no flag --db-pasword",
		// A secret given a literal value.
		"dagger call publish --password is a secret: pass env:NAME",
		// A secret from env: that the step does not map.
		"--signing-key-password env:COSIGN_PASSWORD: COSIGN_PASSWORD is not mapped",
		// A script doing more than installing and calling Dagger.
		"a script step may only install the Dagger CLI and call Dagger; this line does more: go test ./...",
		"a script step may only install the Dagger CLI and call Dagger; this line does more: kubectl apply -f manifests/",
		// An AzureCLI step doing more than fetching credentials.
		"an AzureCLI step may only fetch credentials",
		// A required flag missing.
		"dagger call deploy: required flag --environment is missing",
		// The CLI version differs from dagger.json.
		`daggerVersion is "0.20.0" but dagger.json pins engineVersion v0.21.9`,
		// Stages of the reference pipeline missing.
		"missing stage PR:",
		"missing stage acceptance:",
		"missing stage manual validation:",
		"missing stage promote:",
		"missing stage production deploy:",
		// Reports lost or not published on failure.
		"PublishTestResults must run when the checks fail too",
		// A shallow checkout.
		"checkout without fetchDepth: 0",
		// Production not serialised.
		"production deployments must be serialised",
		// A task that is not fetching, publishing or validating.
		"task Kubernetes@1 is not one the pipeline may use",
	}
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("broken pipeline: no problem reported containing %q", w)
		}
	}
	if t.Failed() {
		t.Logf("reported:\n%s", joined)
	}
}

func TestSplitFlags(t *testing.T) {
	m, _ := load(t)
	ci, _ := m.Function(m.MainObject, "ci")
	flags, rest := splitFlags([]string{"--no-fail", "--db-password", "env:X", "export", "--path", "out"}, ci)
	if len(flags) != 2 || flags[0].name != "no-fail" || flags[0].hasValue || flags[1].value != "env:X" {
		t.Fatalf("flags = %+v", flags)
	}
	if strings.Join(rest, " ") != "export --path out" {
		t.Fatalf("rest = %q", rest)
	}
}
