package main

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/report"
)

// stageResult is one check stage's outcome and the reports it wrote.
type stageResult struct {
	stage   report.Stage
	reports *dagger.Directory
	output  string
}

// runStage runs `hack/stage.sh STAGE` in ctr and keeps its reports whatever
// the exit code: the exec is allowed to fail (ReturnTypeAny), its exit code is
// read, and the report directory is taken from the container after the exec,
// so a failing stage still hands back its JUnit or lint report.
func runStage(ctx context.Context, ctr *dagger.Container, stage string) (stageResult, error) {
	ran := ctr.
		WithEnvVariable("REPORT_DIR", reportDir).
		WithDirectory(reportDir, dag.Directory()).
		WithExec([]string{"bash", "hack/stage.sh", stage}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
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
	return stageResult{stage: st, reports: reports, output: out}, nil
}

// reportFiles keeps the report files (JUnit, text, JSON) of a directory listing, sorted.
func reportFiles(entries []string) []string {
	var files []string
	for _, e := range entries {
		switch path.Ext(e) {
		case ".xml", ".txt", ".json":
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

// lintStages runs golangci-lint and govulncheck in parallel.
func (m *Pipeline) lintStages(ctx context.Context) ([]stageResult, error) {
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]stageResult, 2)
	g, gctx := errgroup.WithContext(ctx)
	for i, stage := range []string{"lint", "vuln"} {
		g.Go(func() error {
			r, err := runStage(gctx, ctr, stage)
			results[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return results, nil
}

// Lint runs golangci-lint (the version hack/tools/go.mod pins, with the
// repository's .golangci.yml) and govulncheck, and returns their reports:
// lint.xml (JUnit), lint.txt, vuln.txt and logs/. It fails when either finds
// a problem, unless --no-fail is set.
func (m *Pipeline) Lint(
	ctx context.Context,
	// Return the reports even when a check fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	results, err := m.lintStages(ctx)
	if err != nil {
		return nil, err
	}
	dir := dag.Directory()
	var errs []string
	for _, r := range results {
		dir = dir.WithDirectory("/", r.reports)
		if r.stage.Failed() {
			errs = append(errs, stageError(r).Error())
		}
	}
	if len(errs) > 0 && !noFail {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return dir, nil
}

// unitStage runs the unit tests.
func (m *Pipeline) unitStage(ctx context.Context) (stageResult, error) {
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return stageResult{}, err
	}
	return runStage(ctx, ctr, "unit")
}

// UnitTest runs the unit tests with gotestsum (race detector on) and returns
// their JUnit XML report. It fails when a test fails, unless --no-fail is set.
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

// Database settings of the integration tests' PostgreSQL service.
const (
	dbAlias = "postgres"
	dbName  = "orders_test"
	dbUser  = "orders"
)

// postgresService returns PostgreSQL as a Dagger service whose superuser
// password is the given secret.
func (m *Pipeline) postgresService(password *dagger.Secret) *dagger.Service {
	img := m.PostgresImage
	if m.ImageRegistry != "" {
		img = strings.TrimSuffix(m.ImageRegistry, "/") + "/" + m.PostgresImage
	}
	return dag.Container().
		From(img).
		WithEnvVariable("POSTGRES_USER", dbUser).
		WithEnvVariable("POSTGRES_DB", dbName).
		WithSecretVariable("POSTGRES_PASSWORD", password).
		WithExposedPort(5432).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{"postgres"}, UseEntrypoint: true})
}

// integrationStage runs the integration tests against PostgreSQL as a service.
func (m *Pipeline) integrationStage(ctx context.Context, dbPassword *dagger.Secret) (stageResult, error) {
	base, err := m.goBase(ctx)
	if err != nil {
		return stageResult{}, err
	}
	ctr := m.withSource(withPostgresBinaries(base)).
		WithServiceBinding(dbAlias, m.postgresService(dbPassword)).
		WithEnvVariable("TEST_DB_HOST", dbAlias).
		WithEnvVariable("TEST_DB_PORT", "5432").
		WithEnvVariable("TEST_DB_NAME", dbName).
		WithEnvVariable("TEST_DB_USER", dbUser).
		WithEnvVariable("TEST_DB_SSLMODE", "disable").
		WithSecretVariable("TEST_DB_PASSWORD", dbPassword)
	return runStage(ctx, ctr, "integration")
}

// IntegrationTest starts PostgreSQL as a Dagger service, with the given
// password, binds it and runs the integration tests against it (TEST_DB_*),
// returning their JUnit XML report. It fails when a test fails, unless
// --no-fail is set.
func (m *Pipeline) IntegrationTest(
	ctx context.Context,
	// Password of the test database; from CI's secret store, e.g. env:TEST_DB_PASSWORD.
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

// Ci runs lint, vulnerability check, unit tests, the multi-platform image
// build and, when --db-password is given, the integration tests, all in
// parallel. It returns a directory of every report (lint.xml, unit.xml,
// integration.xml, ..., logs/, summary.json, summary.txt). It fails when any
// stage fails; with --no-fail it returns the reports of a failed run instead,
// and `check-reports` then fails on them (CI publishes the results in between).
func (m *Pipeline) Ci(
	ctx context.Context,
	// Password of the integration tests' database, e.g. env:TEST_DB_PASSWORD. Without it the integration tests are skipped.
	// +optional
	dbPassword *dagger.Secret,
	// Return the reports even when a stage fails, instead of failing.
	// +optional
	noFail bool,
) (*dagger.Directory, error) {
	var (
		mu      sync.Mutex
		results []stageResult
	)
	add := func(r ...stageResult) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, r...)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rs, err := m.lintStages(gctx)
		add(rs...)
		return err
	})
	g.Go(func() error {
		r, err := m.unitStage(gctx)
		add(r)
		return err
	})
	g.Go(func() error {
		r, err := m.buildStage(gctx)
		add(r)
		return err
	})
	if dbPassword != nil {
		g.Go(func() error {
			r, err := m.integrationStage(gctx, dbPassword)
			add(r)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	var summary report.Summary
	dir := dag.Directory()
	for _, r := range results {
		summary.Add(r.stage)
		dir = dir.WithDirectory("/", r.reports)
	}
	if dbPassword == nil {
		summary.Add(report.Stage{Name: "integration", Skipped: true, Reason: "no --db-password"})
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

// CheckReports reads the summary.json of a reports directory that `ci` or
// `acceptance-test` returned with --no-fail and fails when a stage failed,
// naming it and its reports. It returns the summary table when all passed.
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
