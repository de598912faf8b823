package typecheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// perCallHelper is the one function of the module that adds the per-call
// input to side-effecting execs and to re-runs of failed checks.
const perCallHelper = "func withNonce(ctr *dagger.Container) *dagger.Container {"

// perCallTests are the wiring tests that must fail when the per-call input
// is gone (ci/wiring_*_test.go).
var perCallTests = []string{
	"TestPublishRunsPerCall",
	"TestPromoteRunsPerCall",
	"TestDeployRunsPerCall",
	"TestAcceptanceRunsPerCall",
	"TestFailedCheckRunsAgain",
}

// dropPerCallInput rewrites the helper in the module copy at dir to return
// the container unchanged: the deliberately wrong change.
func dropPerCallInput(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return err
	}
	for _, f := range files {
		src, err := os.ReadFile(filepath.Clean(f))
		if err != nil {
			return err
		}
		s := string(src)
		i := strings.Index(s, perCallHelper)
		if i < 0 {
			continue
		}
		end := strings.Index(s[i:], "\n}\n")
		if end < 0 {
			return fmt.Errorf("%s: the end of withNonce not found", f)
		}
		s = s[:i] + perCallHelper + "\n\treturn ctr" + s[i+end:]
		return os.WriteFile(f, []byte(s), 0o600) //nolint:gosec // the scratch copy
	}
	return errors.New("the module has no " + perCallHelper + " (the per-call input helper moved: update perCallHelper)")
}

// TestWiringTestsCatchAMissingPerCallInput removes the per-call input from
// a scratch copy of the module and requires each of the wiring tests of
// points 1 and 3 (side effects run per call, failed checks run again) to
// fail on it, while the untouched module passes them.
func TestWiringTestsCatchAMissingPerCallInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run := "^(" + strings.Join(perCallTests, "|") + ")$"
	if err := TestModule(ctx, repoRoot, nil, "-count=1", "-run", run, "."); err != nil {
		t.Fatalf("the wiring tests fail on the module as it is:\n%v", err)
	}
	err := TestModule(ctx, repoRoot, dropPerCallInput, "-count=1", "-run", run, "-v", ".")
	if err == nil {
		t.Fatal("the wiring tests pass on a module whose side-effecting execs have no per-call input")
	}
	for _, name := range perCallTests {
		if !regexp.MustCompile(`--- FAIL: ` + name + ` `).MatchString(err.Error()) {
			t.Errorf("%s did not fail without the per-call input:\n%v", name, err)
		}
	}
}
