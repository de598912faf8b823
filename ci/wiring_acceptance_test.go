package main

import (
	"context"
	"strings"
	"testing"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/enginerec"
)

func acceptanceTest(t *testing.T, image string, noFail bool) (*dagger.Directory, error) {
	t.Helper()
	return pipeline().AcceptanceTest(context.Background(), "https://orders.staging.example.com", nil, 8080, "staging", image,
		secret("cosign-key", "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----a1"), secret("cosign-password", "keypw-a2"),
		"", "", "", nil, secret("registry-user", "user-a3"), secret("registry-password", "password-a4"), true, nil, noFail)
}

// TestAcceptanceRunsPerCall: the suite runs against a live environment, so
// two identical calls run it twice, and each attestation signs the report of
// its own run.
func TestAcceptanceRunsPerCall(t *testing.T) {
	script(t, baseRules()...)
	for range 2 {
		if _, err := acceptanceTest(t, testDigestRef, false); err != nil {
			t.Fatal(err)
		}
	}
	runs := checkExecs("acceptance")
	if len(runs) != 2 {
		t.Fatalf("two identical acceptance-test calls gave %d distinct suite runs, want 2", len(runs))
	}
	attests := execs("release", "attest-acceptance")
	if len(attests) != 2 {
		t.Fatalf("two identical calls gave %d distinct attestations, want 2", len(attests))
	}
	noLeaks(t)
}

// TestAcceptanceTiedToTheImage: the suite's exec depends on the digest it
// accepts (two digests, two runs), and the attestation signs the JUnit
// report of that very run, read from the run's container after its exec.
func TestAcceptanceTiedToTheImage(t *testing.T) {
	script(t, baseRules()...)
	other := "nonprod.example:5000/orders@" + otherDigest
	for _, img := range []string{testDigestRef, other} {
		if _, err := acceptanceTest(t, img, false); err != nil {
			t.Fatal(err)
		}
	}
	runs := execs(toolsBin+"/check", "acceptance")
	if len(runs) != 2 {
		t.Fatalf("acceptance runs for two digests: %d distinct, want 2", len(runs))
	}
	byDigest := map[string]enginerec.Exec{}
	for _, r := range runs {
		for _, d := range []string{testDigest, otherDigest} {
			if strings.Contains(r.Identity, `value:"`+d+`"`) {
				byDigest[d] = r
			}
		}
	}
	if len(byDigest) != 2 {
		t.Fatalf("the suite's execs do not depend on the digest under test")
	}
	for _, a := range execs("release", "attest-acceptance") {
		img := a.Args[3]
		d := img[strings.Index(img, "@")+1:]
		run, ok := byDigest[d]
		if !ok {
			t.Fatalf("attestation of %s without a run", img)
		}
		junit := stepIndex(a.Chain, 0, "withFile", `path:"/work/acceptance.xml"`)
		if junit < 0 {
			t.Fatalf("the attestation of %s gets no JUnit report", img)
		}
		want := "<" + run.Identity + `.file(path:"` + reportDir + `/acceptance.xml")>`
		if got := a.Chain[junit].Arg("source"); got != want {
			t.Errorf("the attestation of %s signs a report that is not the one of its run:\n got %s\nwant %s", img, got, want)
		}
	}
}

// TestAcceptanceFailureNoFail: a failing suite with --no-fail hands back
// its reports (read from the container after the exec) and attests nothing;
// without --no-fail it fails naming the stage.
func TestAcceptanceFailureNoFail(t *testing.T) {
	script(t, append([]enginerec.Rule{checkExits("acceptance", 1)}, baseRules()...)...)
	dir, err := acceptanceTest(t, testDigestRef, true)
	if err != nil {
		t.Fatal(err)
	}
	chain := dirChain(t, dir)
	if ex, reports := chain.LastExec(), stepIndex(chain, 0, "directory", `path:"`+reportDir+`"`); ex < 0 || reports < ex {
		t.Fatalf("the reports handed back are not read after the suite's exec: %s", chain)
	}
	if n := len(execs("release", "attest-acceptance")); n != 0 {
		t.Errorf("a failed suite was attested (%d attest execs)", n)
	}
	if _, err := acceptanceTest(t, testDigestRef, false); err == nil || !strings.Contains(err.Error(), "acceptance failed with exit code 1") {
		t.Fatalf("error = %v, want the failed stage named with its exit code", err)
	}
}
