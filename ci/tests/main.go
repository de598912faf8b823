// Tests of the pipeline module, for anyone with a Dagger engine:
//
//	dagger -m ci/tests call all
//
// Each test calls the pipeline's functions on a fixture made from the
// repository: as it is (known good), with a lint error added, or with a
// failing test added, and checks that exactly the right stage fails and that
// its report survives the failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"dagger/tests/internal/dagger"
)

// The bad fixtures add a package to the service (app/, the Go module
// pipeline.yaml names).
const (
	fixtureDir = "app/internal/zzfixture"
	// lintBad compiles and passes the vet checks `go test` runs, but the
	// unused linter of golangci-lint reports the forgotten function.
	lintBad = `// Package zzfixture is a deliberately broken fixture of the pipeline's tests.
package zzfixture

// Answer returns 42.
func Answer() int { return 42 }

func forgotten() int { return 7 }
`
	cleanCode = `// Package zzfixture is a deliberately broken fixture of the pipeline's tests.
package zzfixture

// Answer returns 42.
func Answer() int { return 42 }
`
	failingTest = `package zzfixture

import "testing"

func TestDeliberatelyFails(t *testing.T) {
	if Answer() == 42 {
		t.Fatal("deliberate failure of the ci/tests bad fixture")
	}
}
`
)

const digestRef = "registry.example:5000/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Tests checks the pipeline module against known-good and known-bad fixtures.
type Tests struct {
	// +private
	Source *dagger.Directory
}

// New creates the tests for a repository.
func New(
	// The repository: the known-good fixture, from which the bad ones are made.
	// +defaultPath="/"
	// +ignore=[".git", "out", "ci/internal/dagger", "ci/dagger.gen.go", "ci/tests/internal/dagger", "ci/tests/dagger.gen.go"]
	source *dagger.Directory,
) *Tests {
	return &Tests{Source: source}
}

// summary is the part of a reports directory's summary.json the tests read.
type summary struct {
	Stages []struct {
		Name     string   `json:"name"`
		ExitCode int      `json:"exitCode"`
		Skipped  bool     `json:"skipped"`
		Reports  []string `json:"reports"`
	} `json:"stages"`
}

// outcome returns stage name -> "passed", "failed" or "skipped".
func (s summary) outcome() map[string]string {
	out := map[string]string{}
	for _, st := range s.Stages {
		switch {
		case st.Skipped:
			out[st.Name] = "skipped"
		case st.ExitCode != 0:
			out[st.Name] = "failed"
		default:
			out[st.Name] = "passed"
		}
	}
	return out
}

// runCi runs `ci --no-fail` on source and reads the summary of its reports.
func runCi(ctx context.Context, source *dagger.Directory) (*dagger.Directory, summary, error) {
	reports := dag.Pipeline(dagger.PipelineOpts{Source: source}).Ci(dagger.PipelineCiOpts{NoFail: true})
	data, err := reports.File("summary.json").Contents(ctx)
	if err != nil {
		return nil, summary{}, fmt.Errorf("ci --no-fail returned no summary.json: %w", err)
	}
	var s summary
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return nil, summary{}, fmt.Errorf("parse summary.json: %w", err)
	}
	return reports, s, nil
}

// expect compares stage outcomes with want.
func expect(got map[string]string, want map[string]string) error {
	var diffs []string
	for stage, w := range want {
		if got[stage] != w {
			diffs = append(diffs, fmt.Sprintf("%s: %s, want %s", stage, got[stage], w))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		return fmt.Errorf("stage outcomes: %s", strings.Join(diffs, "; "))
	}
	return nil
}

// contains fails unless file in reports contains all of want.
func contains(ctx context.Context, reports *dagger.Directory, file string, want ...string) error {
	data, err := reports.File(file).Contents(ctx)
	if err != nil {
		return fmt.Errorf("report %s missing: %w", file, err)
	}
	for _, w := range want {
		if !strings.Contains(data, w) {
			return fmt.Errorf("report %s does not mention %q", file, w)
		}
	}
	return nil
}

// GoodFixturePasses runs `ci` on the repository as it is: every stage passes,
// every report is there, and check-reports accepts them.
// Never cached (+cache="never"): a test must run each time it is called.
// +cache="never"
func (m *Tests) GoodFixturePasses(ctx context.Context) error {
	reports, s, err := runCi(ctx, m.Source)
	if err != nil {
		return err
	}
	if err := expect(s.outcome(), map[string]string{"lint": "passed", "vuln": "passed", "unit": "passed", "build": "passed", "integration": "passed", "acceptance": "passed"}); err != nil {
		return err
	}
	for _, f := range []string{"lint.xml", "lint.sarif", "lint.txt", "vuln.txt", "vuln.sarif", "unit.xml", "integration.xml", "acceptance.xml", "summary.txt", "logs/build.log"} {
		if _, err := reports.File(f).Contents(ctx); err != nil {
			return fmt.Errorf("report %s missing: %w", f, err)
		}
	}
	if _, err := dag.Pipeline(dagger.PipelineOpts{Source: m.Source}).CheckReports(ctx, reports); err != nil {
		return fmt.Errorf("check-reports rejected a passing run: %w", err)
	}
	return nil
}

// LintErrorFailsLint adds code with a lint error: lint fails with the finding
// in lint.xml, the unit tests still pass, and check-reports names lint.
// Never cached (+cache="never"): a test must run each time it is called.
// +cache="never"
func (m *Tests) LintErrorFailsLint(ctx context.Context) error {
	bad := m.Source.WithNewFile(fixtureDir+"/fixture.go", lintBad)
	reports, s, err := runCi(ctx, bad)
	if err != nil {
		return err
	}
	if err := expect(s.outcome(), map[string]string{"lint": "failed", "unit": "passed", "build": "passed"}); err != nil {
		return err
	}
	if err := contains(ctx, reports, "lint.xml", "zzfixture", "forgotten"); err != nil {
		return err
	}
	return checkReportsFails(ctx, m.Source, reports, "lint failed")
}

// FailingTestFailsUnit adds a failing test: the unit stage fails with the
// failure in unit.xml, lint still passes, and check-reports names unit.
// Never cached (+cache="never"): a test must run each time it is called.
// +cache="never"
func (m *Tests) FailingTestFailsUnit(ctx context.Context) error {
	bad := m.Source.
		WithNewFile(fixtureDir+"/fixture.go", cleanCode).
		WithNewFile(fixtureDir+"/fixture_test.go", failingTest)
	reports, s, err := runCi(ctx, bad)
	if err != nil {
		return err
	}
	if err := expect(s.outcome(), map[string]string{"unit": "failed", "lint": "passed", "build": "passed"}); err != nil {
		return err
	}
	if err := contains(ctx, reports, "unit.xml", "TestDeliberatelyFails", "deliberate failure"); err != nil {
		return err
	}
	return checkReportsFails(ctx, m.Source, reports, "unit failed")
}

// StageFailureFailsCi checks that `ci` without --no-fail fails on a bad
// fixture, naming the stage, and that `unit-test` fails too.
// Never cached (+cache="never"): a test must run each time it is called.
// +cache="never"
func (m *Tests) StageFailureFailsCi(ctx context.Context) error {
	bad := m.Source.
		WithNewFile(fixtureDir+"/fixture.go", cleanCode).
		WithNewFile(fixtureDir+"/fixture_test.go", failingTest)
	p := dag.Pipeline(dagger.PipelineOpts{Source: bad})
	if _, err := p.Ci().Sync(ctx); err == nil || !strings.Contains(err.Error(), "unit failed") {
		return fmt.Errorf("ci on a failing test: want an error naming the unit stage, got: %w", orPassed(err))
	}
	if _, err := p.UnitTest().Contents(ctx); err == nil || !strings.Contains(err.Error(), "TestDeliberatelyFails") {
		return fmt.Errorf("unit-test on a failing test: want an error naming the test, got: %w", orPassed(err))
	}
	return nil
}

// checkReportsFails expects check-reports to fail on reports, naming want.
func checkReportsFails(ctx context.Context, source, reports *dagger.Directory, want string) error {
	_, err := dag.Pipeline(dagger.PipelineOpts{Source: source}).CheckReports(ctx, reports)
	if err == nil {
		return errors.New("check-reports passed the reports of a failed run")
	}
	if !strings.Contains(err.Error(), want) {
		return fmt.Errorf("check-reports error does not say %q: %w", want, err)
	}
	return nil
}

// errPassed stands for the missing error of a call that should have failed.
var errPassed = errors.New("no error: the call passed")

// orPassed returns err, or errPassed when the call did not fail.
func orPassed(err error) error {
	if err == nil {
		return errPassed
	}
	return err
}

// ReleaseRefusesTags checks that deploy, promote and acceptance attestation
// refuse an image given by tag before touching anything.
// Never cached (+cache="never"): a test must run each time it is called.
// +cache="never"
func (m *Tests) ReleaseRefusesTags(ctx context.Context) error {
	p := dag.Pipeline(dagger.PipelineOpts{Source: m.Source})
	kubeconfig := dag.SetSecret("tests-kubeconfig", "apiVersion: v1\nkind: Config\n")
	tagged := "registry.example:5000/orders:latest"
	if _, err := p.Deploy(ctx, kubeconfig, "staging", tagged); err == nil || !strings.Contains(err.Error(), "not pinned to a digest") {
		return fmt.Errorf("deploy of a tag: want a refusal, got: %w", orPassed(err))
	}
	if _, err := p.Deploy(ctx, kubeconfig, "qa", digestRef); err == nil || !strings.Contains(err.Error(), "--environment") {
		return fmt.Errorf("deploy to an unknown environment: want a refusal naming --environment, got: %w", orPassed(err))
	}
	pub := dag.Directory().WithNewFile("cosign.pub", "not a key").File("cosign.pub")
	if _, err := p.Promote(tagged, "prod.example:5000/orders", pub).Ref(ctx); err == nil || !strings.Contains(err.Error(), "not pinned to a digest") {
		return fmt.Errorf("promote of a tag: want a refusal, got: %w", orPassed(err))
	}
	return nil
}

// All runs every test in parallel and fails naming each test that failed.
// Never cached (+cache="never"): a test run must really run each time it is
// called, not return an earlier verdict.
// +cache="never"
func (m *Tests) All(ctx context.Context) (string, error) {
	tests := map[string]func(context.Context) error{
		"good-fixture-passes":     m.GoodFixturePasses,
		"lint-error-fails-lint":   m.LintErrorFailsLint,
		"failing-test-fails-unit": m.FailingTestFailsUnit,
		"stage-failure-fails-ci":  m.StageFailureFailsCi,
		"release-refuses-tags":    m.ReleaseRefusesTags,
	}
	var (
		mu     sync.Mutex
		failed []string
	)
	var g errgroup.Group
	for name, test := range tests {
		g.Go(func() error {
			if err := test(ctx); err != nil {
				mu.Lock()
				defer mu.Unlock()
				failed = append(failed, fmt.Sprintf("%s: %v", name, err))
			}
			return nil
		})
	}
	_ = g.Wait()
	sort.Strings(failed)
	if len(failed) > 0 {
		return "", fmt.Errorf("%d of %d tests failed:\n%s", len(failed), len(tests), strings.Join(failed, "\n"))
	}
	return fmt.Sprintf("%d tests passed", len(tests)), nil
}
