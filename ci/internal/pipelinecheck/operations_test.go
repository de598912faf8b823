package pipelinecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mutation is one mistake made in a copy of the repository's pipeline files.
type mutation struct {
	file, old, new string
	all            bool // replace every occurrence, not just the first
}

// copyPipeline copies the pipeline files to a temporary directory and
// applies the mutations; each must change something.
func copyPipeline(t *testing.T, muts []mutation) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range allPipelineFiles(t, repoRoot) {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range muts {
			if m.file != f {
				continue
			}
			if !strings.Contains(text, m.old) {
				t.Fatalf("fixture: %s does not contain %q", f, m.old)
			}
			n := 1
			if m.all {
				n = -1
			}
			text = strings.Replace(text, m.old, m.new, n)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o600); err != nil { //nolint:gosec // f is a repository pipeline file found by filepath.Glob
			t.Fatal(err)
		}
	}
	return dir
}

// allProblems runs every check of this package on a pipeline copy.
func allProblems(t *testing.T, s *Schema, root string) string {
	t.Helper()
	m, version := load(t)
	problems, err := Check(root, pipelineFiles, m, version)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range allPipelineFiles(t, root) {
		ps, err := s.ValidateFile(root, f)
		if err != nil {
			t.Fatal(err)
		}
		problems = append(problems, ps...)
	}
	for _, f := range pipelineFiles {
		ps, err := s.ValidateExpanded(root, f)
		if err != nil {
			t.Fatal(err)
		}
		problems = append(problems, ps...)
	}
	return joinProblems(problems)
}

const (
	ciFile  = "azure-pipelines.yml"
	cdFile  = ".azure-pipelines/cd.yml"
	varFile = ".azure-pipelines/variables.yml"
)

// TestPipelineMistakes makes one mistake at a time in a copy of the
// repository's pipeline and expects the problem that names it. The
// unchanged copy has no problem at all, so each case fails for its mistake.
func TestPipelineMistakes(t *testing.T) {
	s := loadSchema(t)
	if got := allProblems(t, s, copyPipeline(t, nil)); got != "" {
		t.Fatalf("the unchanged copy has problems:\n%s", got)
	}
	for _, tc := range []struct {
		name string
		muts []mutation
		want []string
	}{
		// 1. CD takes only main's CI runs.
		{"CD resource without branch", []mutation{{file: cdFile, old: "      branch: main\n", new: ""}},
			[]string{"pipeline resource ci has no branch: main: a manually queued run takes the latest successful run of go-aks-pipeline-ci on any branch"}},
		{"CD triggered by another branch", []mutation{{file: cdFile, old: "          include: [main]", new: "          include: [main, 'feature/*']"}},
			[]string{`pipeline resource ci triggers on branch "feature/*": only main's CI runs feed CD`}},
		{"CD without the branch guard", []mutation{{file: cdFile, old: "CI_SOURCE_BRANCH: $(resources.pipeline.ci.sourceBranch)", new: "CI_SOURCE_BRANCH: $(Build.SourceBranch)"}},
			[]string{"the first stage does not refuse a ci run from another branch"}},
		// 2. Re-runs.
		{"reports under a fixed name", []mutation{{file: ".azure-pipelines/templates/publish-reports.yml", old: "artifact: ${{ parameters.artifact }}-$(System.JobAttempt)", new: "artifact: ${{ parameters.artifact }}"}},
			[]string{
				`PR/checks: artifact pr-reports is published also when the job fails, under a fixed name: a re-run of the failed job fails with "artifact already exists"`,
				`Acceptance/acceptance: artifact acceptance-reports is published also when the job fails`,
			}},
		{"CodeAnalysisLogs on every attempt", []mutation{{file: ".azure-pipelines/templates/publish-reports.yml", old: "condition: and(succeededOrFailed(), eq(variables['System.JobAttempt'], 1))", new: "condition: succeededOrFailed()"}},
			[]string{"artifact CodeAnalysisLogs is published also when the job fails, under a fixed name"}},
		{"image-ref named per attempt, read by name in CD", []mutation{{file: ciFile, old: "artifact: image-ref\n", new: "artifact: image-ref-$(System.JobAttempt)\n"}},
			[]string{"Resolve/resolve: downloads artifact image-ref of ci, which azure-pipelines.yml does not publish under that fixed name"}},
		{"image-ref published before another step", []mutation{{file: ciFile, old: "              artifact: image-ref\n", new: "              artifact: image-ref\n          - checkout: self\n            fetchDepth: 0\n"}},
			[]string{"Publish/publish: artifact image-ref has a fixed name but steps follow it"}},
		// 3. The manual validation outlives its task.
		{"manual validation job timeout equal to the task's", []mutation{{file: cdFile, old: "timeoutInMinutes: 1500", new: "timeoutInMinutes: 1440"}},
			[]string{"Validation/validate: the job's timeoutInMinutes (1440) must be larger than its ManualValidation@1's (1440)"}},
		{"manual validation job without timeout", []mutation{{file: cdFile, old: "            timeoutInMinutes: 1500\n", new: ""}},
			[]string{"Validation/validate: the agentless job has no timeoutInMinutes larger than its ManualValidation@1's (1440)"}},
		// 4. Deployment jobs download only what they use.
		{"deployment jobs download everything", []mutation{{file: cdFile, old: "                - download: none\n", new: "", all: true}},
			[]string{
				"Staging/deploy: deployment job without a download step downloads every artifact of the pipeline's resources",
				"Production/deploy: deployment job without a download step",
			}},
		{"deployment job downloads all of ci", []mutation{{file: cdFile, old: "                - download: none\n", new: "                - download: ci\n"}},
			[]string{"Staging/deploy: download: ci without artifact: downloads every artifact of ci"}},
		// 5. Mirror, checksum, engine.
		{"a call without the image mirror", []mutation{{file: ciFile, old: "moduleArgs: ['--image-registry $(imageRegistry)', '--revision $(Build.SourceVersion)']", new: "moduleArgs: ['--revision $(Build.SourceVersion)']"}},
			[]string{"PR/checks: dagger call ci does not pass --image-registry $(imageRegistry)"}},
		{"CLI download not verified", []mutation{{file: ".azure-pipelines/templates/install-dagger.yml", old: "      echo \"$DAGGER_SHA256  $AGENT_TEMPDIRECTORY/dagger.tar.gz\" | sha256sum --check --strict\n", new: ""}},
			[]string{"the Dagger CLI download is not checked against the pinned checksum"}},
		{"CLI piped from install.sh", []mutation{{file: ".azure-pipelines/templates/install-dagger.yml", old: "      curl -fsSL --retry 3", new: "      curl -fsSL https://dl.dagger.io/dagger/install.sh | sh\n      curl -fsSL --retry 3"}},
			[]string{"the Dagger CLI is installed by piping install.sh to a shell, unverified"}},
		{"runner host without a self-hosted pool", []mutation{{file: varFile, old: "daggerRunnerHost: ''", new: "daggerRunnerHost: unix:///run/dagger/engine.sock"}},
			[]string{"daggerRunnerHost is set but agentPool is empty"}},
		// 6. The non-production public key comes from Key Vault, checked first.
		{"promote with a committed key", []mutation{{file: cdFile, old: "--source-public-key $(Agent.TempDirectory)/cosign-nonprod.pub", new: "--source-public-key keys/cosign-nonprod.pub"}},
			[]string{"Promote/promote: promote --source-public-key keys/cosign-nonprod.pub is not the key verify-image checked in this job"}},
		{"first stage without the key from Key Vault", []mutation{{file: cdFile, old: "COSIGN_PUBLIC_KEY: $(cosign-public-key)", new: "COSIGN_PUBLIC_KEY: $(cosign-pub)"}},
			[]string{
				`Resolve/resolve: verify-image --public-key must be env:NAME mapped from the Key Vault secret an AzureKeyVault@2 step of this job fetches first (got secret "cosign-pub")`,
				"the first stage does not check the non-production public key",
			}},
		// 7. dagger check in PR validation.
		{"PR validation without dagger check", []mutation{{file: ciFile, old: "          - template: .azure-pipelines/templates/dagger-check.yml\n            parameters:\n              displayName: dagger check (fails when a check failed)\n", new: ""}},
			[]string{
				"PR/checks: pull request validation does not run dagger check",
				"PR/checks: dagger call ci --no-fail: no check-reports (or dagger check) after publishing the results",
			}},
		// 8. Static analysis where Azure shows it.
		{"no SARIF published", []mutation{{file: ciFile, old: "              sarif: true\n", new: "", all: true}},
			[]string{
				"PR/checks: the checks' SARIF (golangci-lint, govulncheck) is not published as the CodeAnalysisLogs artifact",
				"CI/checks: the checks' SARIF",
			}},
		// 9. The published schema.
		{"schema: a misspelt job property", []mutation{{file: cdFile, old: "            timeoutInMinutes: 1500", new: "            timeoutInMinute: 1500"}},
			[]string{".azure-pipelines/cd.yml: schema: at /stages/3/jobs/0: additional properties 'timeoutInMinute' not allowed"}},
		{"schema: a misspelt step property in a template", []mutation{{file: ".azure-pipelines/templates/install-dagger.yml", old: "    displayName: Install", new: "    displayname: Install"}},
			[]string{".azure-pipelines/templates/install-dagger.yml: schema: at /steps/0: additional properties 'displayname' not allowed"}},
		{"schema: a step name only the expansion shows", []mutation{{file: ciFile, old: "              name: publish\n", new: "              name: publish step\n"}},
			[]string{"azure-pipelines.yml: expanded: schema: at /stages/2/jobs/0/steps/5/name: 'publish step' does not match pattern"}},
		{"schema: an unknown task input", []mutation{{file: cdFile, old: "                  onTimeout: reject", new: "                  onTimeout: reject\n                  timeout: 60"}},
			[]string{".azure-pipelines/cd.yml: schema: at /stages/3/jobs/0/steps/0/inputs: additional properties 'timeout' not allowed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := allProblems(t, s, copyPipeline(t, tc.muts))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("no problem containing %q; reported:\n%s", w, got)
				}
			}
		})
	}
}
