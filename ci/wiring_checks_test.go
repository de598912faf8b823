package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"dagger/pipeline/internal/enginerec"
	"dagger/pipeline/internal/report"
)

// TestFailedCheckRunsAgain: a failing check's exec (allowed to fail, so a
// cached "success" to the engine) runs again with a per-call input, and the
// next call runs it afresh; a passing check stays one cached exec.
func TestFailedCheckRunsAgain(t *testing.T) {
	script(t, append([]enginerec.Rule{checkExits("lint", 1)}, baseRules()...)...)
	ctx := context.Background()
	if _, err := pipeline().Lint(ctx, true); err != nil {
		t.Fatal(err)
	}
	first := checkExecs("lint")
	if _, err := pipeline().Lint(ctx, true); err != nil {
		t.Fatal(err)
	}
	var second []string
	for _, id := range checkExecs("lint") {
		if !slices.Contains(first, id) {
			second = append(second, id)
		}
	}
	if len(second) == 0 {
		t.Fatalf("the second call of a failed lint ran no new exec: its failure came from the cache")
	}

	script(t, baseRules()...)
	for range 2 {
		if _, err := pipeline().Lint(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(checkExecs("lint")); n != 1 {
		t.Errorf("a passing lint has %d exec identities over two calls, want 1 (cached)", n)
	}
}

// TestVulnKeyedOnTheDay: the vulnerability check's exec carries today's
// UTC date, so its cached report is reused within the day only.
func TestVulnKeyedOnTheDay(t *testing.T) {
	script(t, baseRules()...)
	before := today()
	if _, err := pipeline().Vuln(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	after := today()
	runs := checkExecs("vuln")
	if len(runs) != 1 {
		t.Fatalf("vuln execs: %d, want 1", len(runs))
	}
	if !strings.Contains(runs[0], `value:"`+before+`"`) && !strings.Contains(runs[0], `value:"`+after+`"`) {
		t.Fatalf("the vulnerability check's exec does not depend on the date %s:\n%s", after, runs[0])
	}
}

// TestCheckReportsSurviveFailure: with --no-fail a failing check hands back
// its reports, read from the container after the exec that writes them;
// without it, the call fails naming the stage.
func TestCheckReportsSurviveFailure(t *testing.T) {
	script(t, append([]enginerec.Rule{checkExits("lint", 1)}, baseRules()...)...)
	ctx := context.Background()
	dir, err := pipeline().Lint(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	chain := dirChain(t, dir)
	ex := chain.LastExec()
	if ex < 0 || !isCheck("lint")(enginerec.Call{Chain: chain[:ex+1]}) {
		t.Fatalf("the reports handed back come from no lint exec: %s", chain)
	}
	if stepIndex(chain, ex, "directory", `path:"`+reportDir+`"`) < 0 {
		t.Fatalf("the reports are not read from %s after the lint exec: %s", reportDir, chain)
	}
	if _, err := pipeline().Lint(ctx, false); err == nil || !strings.Contains(err.Error(), "lint failed with exit code 1") {
		t.Fatalf("Lint without --no-fail: error = %v, want the failed stage named", err)
	}
}

// TestIntegrationDatabase: with integration.postgres the tests get
// PostgreSQL as a bound service and its password only as a secret.
func TestIntegrationDatabase(t *testing.T) {
	script(t, baseRules()...)
	p := pipeline()
	p.IntegrationPostgres = true
	if _, err := p.IntegrationTest(context.Background(), secret("db-password", "db-pw-6b0d"), false); err != nil {
		t.Fatal(err)
	}
	runs := checkExecs("integration")
	if len(runs) != 1 {
		t.Fatalf("integration execs: %d, want 1", len(runs))
	}
	for _, want := range []string{
		`withServiceBinding(alias:"postgres",service:<container.from(address:"docker.io/library/postgres:15-bookworm")`,
		`withSecretVariable(name:"TEST_DB_PASSWORD",secret:<loadSecretFromID(id:"enginerec-secret:db-password")>)`,
		`withEnvVariable(name:"TEST_DB_HOST",value:"postgres")`,
	} {
		if !strings.Contains(runs[0], want) {
			t.Errorf("the integration exec lacks %s", want)
		}
	}
	noLeaks(t)
}

// TestCiNoFailHandsBackFailingStage: `ci --no-fail` with a failing lint
// returns every stage's reports and a summary naming lint as failed, each
// stage's reports read after its own exec.
func TestCiNoFailHandsBackFailingStage(t *testing.T) {
	script(t, append([]enginerec.Rule{checkExits("lint", 1)}, baseRules()...)...)
	dir, err := pipeline().Ci(context.Background(), nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	chain := dirChain(t, dir)
	summary := stepIndex(chain, 0, "withNewFile", `path:"summary.json"`)
	if summary < 0 {
		t.Fatalf("ci returned no summary.json: %s", chain)
	}
	sum, err := report.Parse([]byte(chain[summary].String1("contents")))
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]int{}
	for _, st := range sum.Stages {
		failed[st.Name] = st.ExitCode
	}
	if failed["lint"] != 1 || failed["unit"] != 0 || len(failed) != 6 {
		t.Errorf("summary = %+v, want six stages, lint failed with exit code 1", sum.Stages)
	}
	text := chain.String()
	for _, stage := range []string{"lint", "vuln", "unit", "integration", "acceptance"} {
		run := strings.Index(text, `withExec(args:["`+toolsBin+`/check","`+stage+`"`)
		if run < 0 {
			t.Errorf("the reports of %s are not in ci's result", stage)
			continue
		}
		if !strings.Contains(text[run:], `.directory(path:"`+reportDir+`")`) {
			t.Errorf("the reports of %s are not read after its exec", stage)
		}
	}
	if _, err := pipeline().Ci(context.Background(), nil, nil, false); err == nil || !strings.Contains(err.Error(), "lint") {
		t.Fatalf("ci without --no-fail: error = %v, want the failed lint named", err)
	}
}
