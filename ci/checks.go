package main

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/report"
	"dagger/pipeline/settings"
)

// stageResult is one check stage's outcome and the reports it wrote.
type stageResult struct {
	stage   report.Stage
	reports *dagger.Directory
	output  string
	// ran is the container after the stage's exec (the run whose result this is).
	ran *dagger.Container
}

// runCheck runs `check STAGE` (the check runner built from this module's
// tools) in ctr and keeps its reports whatever the exit code: the exec may
// fail (ReturnTypeAny), its exit code is read, and the report directory is
// taken from the container after the exec, so a failing stage still hands
// back its JUnit or lint report.
//
// A non-zero exit under ReturnTypeAny is no error to the engine, so it would
// be cached like a success: the same call on the same commit would return the
// same failure without running anything. So a failed run is run once more
// with a per-call input (withNonce) and that run's result and reports are
// used: a flaky failure clears on the next call, a real one is reported
// again from a fresh run. A passing stage stays cached. The cost: a stage
// that fails for real runs twice in the call where it first fails, and once
// (plus a cache hit) in every later call.
func runCheck(ctx context.Context, ctr *dagger.Container, stage string, opts cmdline.CheckOptions) (stageResult, error) {
	opts.Stage = stage
	opts.Settings = settingsPath
	opts.Source = srcDir
	opts.Reports = reportDir
	args, err := cmdline.CheckArgs(toolsBin+"/check", opts)
	if err != nil {
		return stageResult{}, err
	}
	prepared := ctr.WithDirectory(reportDir, dag.Directory())
	r, err := execStage(ctx, prepared, stage, args)
	if err != nil || !r.stage.Failed() {
		return r, err
	}
	return execStage(ctx, withNonce(prepared), stage, args)
}

// execStage runs args in ctr as stage and collects its result.
func execStage(ctx context.Context, ctr *dagger.Container, stage string, args []string) (stageResult, error) {
	ran := ctr.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ran.ExitCode(ctx)
	if err != nil {
		return stageResult{}, fmt.Errorf("stage %s did not run: %w", stage, err)
	}
	out, err := ran.CombinedOutput(ctx)
	if err != nil {
		return stageResult{}, fmt.Errorf("stage %s: read its output: %w", stage, err)
	}
	reports := ran.Directory(reportDir).WithNewFile(path.Join("logs", stage+".log"), out)
	entries, err := ran.Directory(reportDir).Entries(ctx)
	if err != nil {
		return stageResult{}, fmt.Errorf("stage %s: list its reports: %w", stage, err)
	}
	files := reportFiles(entries)
	st := report.Stage{Name: stage, ExitCode: code, Reports: append(files, "logs/"+stage+".log")}
	return stageResult{stage: st, reports: reports, output: out, ran: ran}, nil
}

// withNonce adds the per-call input that makes the next exec run again
// instead of being served from the cache: an environment variable with the
// current time, set right before the exec (after the cached build and tool
// layers). Every side-effecting exec (publish, promote, deploy, acceptance,
// attest) and every re-run of a failed check goes through here.
func withNonce(ctr *dagger.Container) *dagger.Container {
	return ctr.WithEnvVariable("CACHEBUSTER", time.Now().UTC().Format(time.RFC3339Nano))
}

// withVulnDBDate keys the vulnerability check on the UTC date, so its
// report is at most a day old: a cached run is reused within the day only.
func withVulnDBDate(ctr *dagger.Container) *dagger.Container {
	return ctr.WithEnvVariable("VULNDB_DATE", time.Now().UTC().Format(time.DateOnly))
}

// reportFiles keeps the report files (JUnit, SARIF, text, JSON) of a directory listing, sorted.
func reportFiles(entries []string) []string {
	var files []string
	for _, e := range entries {
		switch path.Ext(e) {
		case ".xml", ".txt", ".json", ".sarif":
			files = append(files, e)
		}
	}
	sort.Strings(files)
	return files
}

// stageError is the error of a failed stage: its exit code and the end of its output.
func stageError(r stageResult) error {
	return fmt.Errorf("%s failed with exit code %d; last output:\n%s", r.stage.Name, r.stage.ExitCode, report.Tail(r.output, 40))
}

// checkResult returns the stage's reports, or its error unless noFail.
func checkResult(r stageResult, noFail bool) (*dagger.Directory, error) {
	if r.stage.Failed() && !noFail {
		return nil, stageError(r)
	}
	return r.reports, nil
}

// lintStage runs golangci-lint on the service's Go module.
func (m *Pipeline) lintStage(ctx context.Context) (stageResult, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return stageResult{}, err
	}
	ctr, err := m.checkContainer(ctx, svc, stageLint)
	if err != nil {
		return stageResult{}, err
	}
	return runCheck(ctx, ctr, "lint", cmdline.CheckOptions{DefaultLintConfig: defaultLintConfigPath})
}

// Lint runs golangci-lint (the version this module pins) on the service's Go
// module, with the service's .golangci.yml or this module's default
// configuration, and returns its reports: lint.xml (JUnit), lint.sarif,
// lint.txt and logs/lint.log. It fails when the linter finds a problem,
// unless --no-fail is set.
// Cached per session (+cache="session"): each call runs the function again,
// so a failed lint is re-run (see the module's README); a passing lint of
// unchanged code is a cache hit of its exec.
// +check
// +cache="session"
func (m *Pipeline) Lint(
	ctx context.Context,
	// Return the reports even when the check fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	r, err := m.lintStage(ctx)
	if err != nil {
		return nil, err
	}
	return checkResult(r, noFail)
}

// vulnStage runs govulncheck on the service's Go module.
func (m *Pipeline) vulnStage(ctx context.Context) (stageResult, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return stageResult{}, err
	}
	ctr, err := m.checkContainer(ctx, svc, stageVuln)
	if err != nil {
		return stageResult{}, err
	}
	return runCheck(ctx, withVulnDBDate(ctr), "vuln", cmdline.CheckOptions{})
}

// Vuln runs govulncheck on the service's Go module against the online
// vulnerability database and gates its findings with the service's
// allow-list (settings vuln.allow: an accepted finding needs a reason and a
// review date). Returns vuln.json, vuln.sarif, vuln.txt and logs/vuln.log.
// It fails on a called vulnerability not accepted, unless --no-fail is set.
// Cached per session (+cache="session") and its exec keyed on the UTC date
// (VULNDB_DATE), so a report is never more than a day old even for code that
// did not change.
// +check
// +cache="session"
func (m *Pipeline) Vuln(
	ctx context.Context,
	// Return the reports even when the check fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	r, err := m.vulnStage(ctx)
	if err != nil {
		return nil, err
	}
	return checkResult(r, noFail)
}

// unitStage runs the unit tests.
func (m *Pipeline) unitStage(ctx context.Context) (stageResult, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return stageResult{}, err
	}
	ctr, err := m.checkContainer(ctx, svc, stageUnit)
	if err != nil {
		return stageResult{}, err
	}
	return runCheck(ctx, ctr, "unit", cmdline.CheckOptions{})
}

// UnitTest runs the service's unit tests with gotestsum (race detector on)
// and returns their JUnit XML report. It fails when a test fails, unless
// --no-fail is set.
// Cached per session (+cache="session"): a failed run is run again on the
// next call; passing tests of unchanged code are a cache hit of their exec.
// +check
// +cache="session"
func (m *Pipeline) UnitTest(
	ctx context.Context,
	// Return the report even when a test fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.File, error) {
	r, err := m.unitStage(ctx)
	if err != nil {
		return nil, err
	}
	if r.stage.Failed() && !noFail {
		return nil, stageError(r)
	}
	return r.reports.File("unit.xml"), nil
}

// integrationStage runs the integration tests, against PostgreSQL as a
// service when the settings ask for one.
func (m *Pipeline) integrationStage(ctx context.Context, dbPassword *dagger.Secret) (stageResult, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return stageResult{}, err
	}
	ctr, err := m.checkContainer(ctx, svc, stageIntegration)
	if err != nil {
		return stageResult{}, err
	}
	if svc.Integration.Postgres {
		ctr = withTestDatabase(ctr, m.postgresService(dbPassword), dbPassword)
	}
	return runCheck(ctx, ctr, "integration", cmdline.CheckOptions{})
}

// IntegrationTest runs the service's integration tests (settings
// integration.tag and integration.packages) and returns their JUnit XML
// report. When the settings ask for PostgreSQL (integration.postgres), it
// runs as a Dagger service bound as `postgres`, and the tests get TEST_DB_HOST,
// TEST_DB_PORT, TEST_DB_NAME, TEST_DB_USER, TEST_DB_SSLMODE and, with
// --db-password, TEST_DB_PASSWORD. Without --db-password the database trusts
// every connection on the private service network. It fails when a test
// fails, unless --no-fail is set.
// Cached per session (+cache="session"), like the other checks.
// +check
// +cache="session"
func (m *Pipeline) IntegrationTest(
	ctx context.Context,
	// Password of the test database, e.g. env:TEST_DB_PASSWORD. Optional: without it PostgreSQL uses trust authentication on the private service network.
	// +optional
	dbPassword *dagger.Secret,
	// Return the report even when a test fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.File, error) {
	r, err := m.integrationStage(ctx, dbPassword)
	if err != nil {
		return nil, err
	}
	if r.stage.Failed() && !noFail {
		return nil, stageError(r)
	}
	return r.reports.File("integration.xml"), nil
}

// Ci runs every check of the service in parallel: lint, vulnerability check,
// unit tests, integration tests, the acceptance suite against the built
// image run as a service, and the multi-platform image build. It returns a
// directory of every report (lint.xml, lint.sarif, vuln.sarif, unit.xml,
// integration.xml, acceptance.xml, ..., logs/, summary.json, summary.txt).
// It fails when any stage fails; with --no-fail it returns the reports of a
// failed run instead, and `check-reports` then fails on them (CI publishes
// the results in between).
// Cached per session (+cache="session"): each call re-runs what failed last
// time; passing stages of unchanged code are cache hits.
// +cache="session"
func (m *Pipeline) Ci(
	ctx context.Context,
	// Password of the test database, e.g. env:TEST_DB_PASSWORD. Optional: without it the test database trusts every connection on the private service network.
	// +optional
	dbPassword *dagger.Secret,
	// Stages to leave out, repeatable: lint, vuln, unit, integration, acceptance, build.
	// +optional
	skip []string,
	// Return the reports even when a stage fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	skipped := map[string]bool{}
	for _, s := range skip {
		if !isStage(s) {
			return nil, fmt.Errorf("--skip %q is not a stage: use %s", s, strings.Join(ciStages, ", "))
		}
		skipped[s] = true
	}
	if _, err := m.settings(ctx); err != nil {
		return nil, err
	}
	var (
		mu      sync.Mutex
		results []stageResult
	)
	g, gctx := errgroup.WithContext(ctx)
	run := func(name string, f func(context.Context) (stageResult, error)) {
		if skipped[name] {
			return
		}
		g.Go(func() error {
			r, err := f(gctx)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			results = append(results, r)
			return nil
		})
	}
	run("lint", m.lintStage)
	run("vuln", m.vulnStage)
	run("unit", m.unitStage)
	run("integration", func(ctx context.Context) (stageResult, error) { return m.integrationStage(ctx, dbPassword) })
	run("acceptance", func(ctx context.Context) (stageResult, error) { return m.acceptanceStage(ctx, dbPassword) })
	run("build", m.buildStage)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(results, func(i, j int) bool { return results[i].stage.Name < results[j].stage.Name })

	var summary report.Summary
	dir := dag.Directory()
	for _, r := range results {
		summary.Add(r.stage)
		dir = dir.WithDirectory("/", r.reports)
	}
	for _, s := range ciStages {
		if skipped[s] {
			summary.Add(report.Stage{Name: s, Skipped: true, Reason: "--skip " + s})
		}
	}
	js, err := summary.JSON()
	if err != nil {
		return nil, err
	}
	dir = dir.WithNewFile(report.SummaryFile, js).WithNewFile(report.TextFile, summary.Text())
	if err := summary.Err(); err != nil && !noFail {
		return nil, fmt.Errorf("ci: %w", err)
	}
	return dir, nil
}

// ciStages are the stages of `ci`, in report order.
var ciStages = []string{"lint", "vuln", "unit", "integration", "acceptance", "build"}

func isStage(s string) bool {
	for _, c := range ciStages {
		if s == c {
			return true
		}
	}
	return false
}

// CheckReports reads the summary.json of a reports directory that `ci` or
// `acceptance-test` returned with --no-fail and fails when a stage failed,
// naming it and its reports. It returns the summary table when all passed.
// Not cached on purpose (+cache="never"): it only reads its argument, and a
// verdict must come from this call.
// +cache="never"
func (m *Pipeline) CheckReports(
	ctx context.Context,
	// The exported reports directory, e.g. out/reports.
	reports *dagger.Directory,
) (string, error) {
	data, err := reports.File(report.SummaryFile).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("--reports: read %s: %w; pass the directory `ci --no-fail` exported", report.SummaryFile, err)
	}
	summary, err := report.Parse([]byte(data))
	if err != nil {
		return "", fmt.Errorf("--reports: %w", err)
	}
	if err := summary.Err(); err != nil {
		return "", err
	}
	return summary.Text(), nil
}

// Settings returns the service's resolved settings as YAML: pipeline.yaml
// merged with the constructor's arguments, defaults filled in and validated
// (what every stage runs with). It fails naming the field and flag of an
// invalid setting.
// Default function caching (up to 7 days): the result depends only on the source and arguments.
func (m *Pipeline) Settings(ctx context.Context) (string, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return "", err
	}
	data, err := settings.Marshal(svc)
	if err != nil {
		return "", err
	}
	return string(data), nil
}
