package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/enginerec"
)

// Fixture values the stand-in answers with.
const (
	testGoMod     = "module example.com/orders\n\ngo 1.27\n\ntoolchain go1.27.3\n"
	testGoImage   = "docker.io/library/golang:1.27.3-bookworm"
	testRevision  = "0123abc"
	testDigest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	otherDigest   = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	testDigestRef = "nonprod.example:5000/orders@" + testDigest
	prodRef       = "prod.example:5000/orders@" + testDigest
)

// pipeline is the module's constructor called as the engine calls it for
// `dagger call`, with the defaults its +default pragmas declare.
func pipeline() *Pipeline {
	return pipelineOf(dag.Directory().WithNewFile("go.mod", testGoMod))
}

// pipelineOf is pipeline for the service source src.
func pipelineOf(src *dagger.Directory) *Pipeline {
	tools := dag.Directory().WithNewFile("go.mod", testGoMod).WithNewFile("ci/go.mod", "module dagger/pipeline\n\ngo 1.26.1\n")
	return New(src, tools, "docker.io/library", "", "bookworm", "postgres:15-bookworm", "https://github.com/go-aks/pipeline",
		testRevision, "1970-01-01T00:00:00Z", "pipeline.yaml", "", "", "", nil, "", nil, "", "", "", "", false, "", "")
}

// baseRules answer what every function reads: the go.mod files (the Go
// image is derived from their toolchain line) and the reference files the
// release commands write.
func baseRules() []enginerec.Rule {
	return []enginerec.Rule{
		fileContents("go.mod", testGoMod),
		fileContents(refFile, testDigestRef),
	}
}

// isCheck matches an exec of the check runner for stage.
func isCheck(stage string) func(c enginerec.Call) bool {
	return func(c enginerec.Call) bool {
		args := c.ExecArgs()
		return len(args) > 1 && strings.HasSuffix(args[0], "/check") && args[1] == stage
	}
}

// checkExits answers the exit code of the check runner's stage.
func checkExits(stage string, code int) enginerec.Rule {
	m := isCheck(stage)
	return answer(func(c enginerec.Call) bool { return c.Fields("exitCode") && m(c) }, code)
}

// checkExecs returns the identities of the recorded execs of a check stage.
func checkExecs(stage string) []string {
	var ids []string
	for _, e := range rec.Execs() {
		if len(e.Args) > 1 && strings.HasSuffix(e.Args[0], "/check") && e.Args[1] == stage {
			ids = append(ids, e.Identity)
		}
	}
	return ids
}

// identities returns the identities of the execs starting with prefix.
func identities(prefix ...string) []string {
	var ids []string
	for _, e := range execs(prefix...) {
		ids = append(ids, e.Identity)
	}
	return ids
}

// envBeforeExec returns the environment variable the step right before the
// last exec of chain sets, if it sets one: where the per-call input goes.
func envBeforeExec(chain enginerec.Chain) (name, value string) {
	i := chain.LastExec()
	if i < 1 || chain[i-1].Field != "withEnvVariable" {
		return "", ""
	}
	return chain[i-1].String1("name"), chain[i-1].String1("value")
}

// dirChain returns the chain a directory the function returned was built by.
func dirChain(t *testing.T, d *dagger.Directory) enginerec.Chain {
	t.Helper()
	before := len(rec.Calls())
	if _, err := d.ID(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The SDK asks for the IDs of a chain's arguments first: the directory's
	// own is the last one asked.
	calls := rec.Calls()[before:]
	for i := len(calls) - 1; i >= 0; i-- {
		if c := calls[i]; c.Fields("id") && c.Type == "Directory" {
			return c.Chain
		}
	}
	t.Fatalf("no directory id was asked for")
	return nil
}

// today is the UTC date, as the vulnerability check is keyed on it.
func today() string { return time.Now().UTC().Format(time.DateOnly) }
