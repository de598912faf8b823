// The module's wiring tests: the module's functions are called as Go methods
// with `dag` a real dagger.io/dagger client connected, through the session
// environment, to internal/enginerec, a recording stand-in of the engine's
// session API. They check which images, execs (and in what order), secrets,
// caches and services the functions ask the engine for, and the identities of
// their side-effecting execs.
//
// This is a narrow unit test of the wiring, not a claim that the module works
// on an engine: nothing runs, exit codes and file contents are scripted.
// `dagger -m ci/tests call all` is the test on a real engine.
//
// The main package needs generated code, so these tests run in the scratch
// copy ci/internal/typecheck makes: `cd ci && go run ./cmd/typecheck -test`.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	sdk "dagger.io/dagger"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/enginerec"
)

// rec is the stand-in engine every test of this package talks to (dag is
// package state of the module, so the tests share one session and do not
// run in parallel).
var rec *enginerec.Recorder

func TestMain(m *testing.M) { os.Exit(runWithRecorder(m)) }

func runWithRecorder(m *testing.M) int {
	ctx := context.Background()
	dir, err := enginerec.SDKDir(ctx, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	schema, err := enginerec.LoadSchema(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rec, err = enginerec.Start(ctx, schema)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer func() { _ = rec.Close() }()
	for k, v := range rec.Env() {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
	}
	client, err := sdk.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect to the engine stand-in:", err)
		return 2
	}
	defer func() { _ = client.Close() }()
	dag = client
	return m.Run()
}

// script starts a test's session: recorded requests forgotten, its rules set.
func script(t *testing.T, rules ...enginerec.Rule) {
	t.Helper()
	rec.Reset()
	rec.Answer(rules...)
	t.Cleanup(rec.Reset)
}

// secret is a secret handed to a function the way the CLI hands one over:
// by ID, its value known only to the engine.
func secret(name, value string) *dagger.Secret {
	return dag.LoadSecretFromID(dagger.SecretID(rec.Secret(name, value)))
}

// noLeaks fails when a secret's value appeared in any request.
func noLeaks(t *testing.T) {
	t.Helper()
	if leaks := rec.Leaks(); len(leaks) > 0 {
		t.Errorf("a secret value was sent to the engine in %d request(s), e.g.\n%s", len(leaks), leaks[0])
	}
}

// execs returns the recorded execs whose arguments start with prefix.
func execs(prefix ...string) []enginerec.Exec {
	var out []enginerec.Exec
	for _, e := range rec.Execs() {
		if len(e.Args) >= len(prefix) && slices.Equal(e.Args[:len(prefix)], prefix) {
			out = append(out, e)
		}
	}
	return out
}

// oneExec returns the single distinct exec starting with prefix.
func oneExec(t *testing.T, prefix ...string) enginerec.Exec {
	t.Helper()
	es := execs(prefix...)
	if len(es) != 1 {
		var all []string
		for _, e := range rec.Execs() {
			all = append(all, strings.Join(e.Args, " "))
		}
		t.Fatalf("want one exec of %q, got %d; execs:\n%s", strings.Join(prefix, " "), len(es), strings.Join(all, "\n"))
	}
	return es[0]
}

// answer is a rule for a leaf of the calls match accepts.
func answer(match func(c enginerec.Call) bool, v any) enginerec.Rule {
	return func(c enginerec.Call) (any, bool) {
		if match(c) {
			return v, true
		}
		return nil, false
	}
}

// fileContents answers reading a file at path (whatever built it).
func fileContents(path, contents string) enginerec.Rule {
	return answer(func(c enginerec.Call) bool { return c.Fields("contents") && c.ReadsFile() == path }, contents)
}

// stepIndex is the index of the first step of chain at or after from with field
// and whose canonical text contains text, -1 when none.
func stepIndex(chain enginerec.Chain, from int, field, text string) int {
	return chain.Index(from, func(s enginerec.Step) bool {
		return s.Field == field && strings.Contains(s.String(), text)
	})
}
