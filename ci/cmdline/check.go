package cmdline

import (
	"fmt"
	"path"
	"strings"

	"dagger/pipeline/settings"
)

// CheckStages are the check runner's subcommands, one per check.
var CheckStages = []string{"lint", "vuln", "unit", "integration", "acceptance"}

// Flags of the check runner (cmd/check); one list, read by the runner and
// written by CheckArgs.
const (
	FlagSettings          = "settings"
	FlagSource            = "source"
	FlagReports           = "reports"
	FlagModule            = "module"
	FlagDefaultLintConfig = "default-lint-config"
	FlagToolsModfile      = "tools-modfile"
	FlagVulnAllow         = "vuln-allow"
	FlagLintConfig        = "lint-config"
	FlagPackages          = "packages"
)

// CheckOptions are the inputs of one check of the check runner.
type CheckOptions struct {
	// Stage is the check: lint, vuln, unit, integration or acceptance.
	Stage string
	// Settings is the service's settings file (pipeline.yaml, resolved or
	// not); empty means defaults.
	Settings string
	// Source is the service's source root; paths in the settings are relative to it.
	Source string
	// Reports is the directory the reports are written to.
	Reports string
	// Module overrides the settings' Go module directory.
	Module string
	// DefaultLintConfig is the golangci-lint configuration used when the
	// settings name none and the Go module has no .golangci.yml.
	DefaultLintConfig string
	// ToolsModfile, when set, runs the tools with `go tool -modfile=FILE`;
	// otherwise they are run from PATH.
	ToolsModfile string
	// VulnAllow overrides the settings' govulncheck allow-list.
	VulnAllow string
	// LintConfig overrides the settings' lint configuration.
	LintConfig string
	// Packages are the package patterns lint and vuln check (default ./...).
	Packages []string
}

// CheckArgs returns the check runner's arguments for o.
func CheckArgs(check string, o CheckOptions) ([]string, error) {
	if !isCheckStage(o.Stage) {
		return nil, fmt.Errorf("check %q is not one of %s", o.Stage, strings.Join(CheckStages, ", "))
	}
	if o.Source == "" || o.Reports == "" {
		return nil, fmt.Errorf("check %s: the source and the reports directory are required", o.Stage)
	}
	args := []string{check, o.Stage, "--" + FlagSource, o.Source, "--" + FlagReports, o.Reports}
	for _, f := range []struct{ flag, v string }{
		{FlagSettings, o.Settings},
		{FlagModule, o.Module},
		{FlagDefaultLintConfig, o.DefaultLintConfig},
		{FlagToolsModfile, o.ToolsModfile},
		{FlagVulnAllow, o.VulnAllow},
		{FlagLintConfig, o.LintConfig},
		{FlagPackages, strings.Join(o.Packages, " ")},
	} {
		if f.v != "" {
			args = append(args, "--"+f.flag, f.v)
		}
	}
	return args, nil
}

func isCheckStage(s string) bool {
	for _, c := range CheckStages {
		if s == c {
			return true
		}
	}
	return false
}

// Tool returns the command line running a pinned tool: from PATH, or with
// `go tool -modfile=MODFILE` when modfile is set (this repository's
// hack/tools/go.mod).
func Tool(modfile, name string, args ...string) []string {
	if modfile == "" {
		return append([]string{name}, args...)
	}
	return append([]string{"go", "tool", "-modfile=" + modfile, name}, args...)
}

// LintArgs returns golangci-lint's arguments: the configuration, the JUnit
// and SARIF reports in reports, the text report on standard output, the
// packages (default ./...).
func LintArgs(config, reports string, packages ...string) []string {
	// Parallel runners are allowed: on a shared machine another run's lock
	// must not fail this one (each run has its own report paths).
	return append([]string{"run", "--config", config, "--allow-parallel-runners",
		"--output.text.path", "stdout",
		"--output.junit-xml.path", path.Join(reports, "lint.xml"),
		"--output.sarif.path", path.Join(reports, "lint.sarif")},
		orAll(packages)...)
}

// VulnArgs returns govulncheck's arguments for a report in format (json or
// sarif), against db when set (GOVULNDB, e.g. file:///path), on the
// packages (default ./...).
func VulnArgs(format, db string, packages ...string) []string {
	args := []string{"-format", format}
	if db != "" {
		args = append(args, "-db", db)
	}
	return append(args, orAll(packages)...)
}

func orAll(packages []string) []string {
	if len(packages) == 0 {
		return []string{"./..."}
	}
	return packages
}

// GoTestArgs returns the `go test` arguments of a test check for the
// resolved settings: unit (race detector on), integration (its tag, one
// package at a time) or acceptance (its tag and packages).
func GoTestArgs(stage string, s settings.Service) ([]string, error) {
	switch stage {
	case "unit":
		return []string{"-race", "-count=1", "./..."}, nil
	case "integration":
		return []string{"-tags", s.Integration.Tag, "-count=1", "-p", "1", s.Integration.Packages}, nil
	case "acceptance":
		return []string{"-tags", s.Acceptance.Tag, "-count=1", s.Acceptance.Packages}, nil
	}
	return nil, fmt.Errorf("check %q runs no tests", stage)
}

// GotestsumArgs returns gotestsum's arguments running `go test goTest...`
// with the JUnit report reports/NAME.xml and the event log reports/NAME.json.
func GotestsumArgs(name, reports, format string, goTest ...string) []string {
	if format == "" {
		format = "testname"
	}
	return append([]string{"--format", format,
		"--junitfile", path.Join(reports, name+".xml"), "--junitfile-testsuite-name", "relative",
		"--jsonfile", path.Join(reports, name+".json"), "--"}, goTest...)
}

// PipelineCommands are the packages of the pipeline's own commands, built
// from the module's repository (never from a service's).
var PipelineCommands = []string{"./cmd/release", "./cmd/deploy", "./cmd/check"}

// CheckToolPackages are the checkers the check runner runs, pinned in hack/tools/go.mod.
var CheckToolPackages = []string{
	"github.com/golangci/golangci-lint/v2/cmd/golangci-lint",
	"gotest.tools/gotestsum",
	"golang.org/x/vuln/cmd/govulncheck",
}

// BuildTools returns the environment and arguments of a static build of
// pkgs into the directory out (ending in /).
func BuildTools(out string, pkgs ...string) (env map[string]string, args []string) {
	env = map[string]string{"CGO_ENABLED": "0"}
	return env, append([]string{"go", "build", "-trimpath", "-o", out}, pkgs...)
}

// BuildCheckTools returns the build of CheckToolPackages into out, run in the
// directory of hack/tools/go.mod.
func BuildCheckTools(out string) (env map[string]string, args []string) {
	return BuildTools(out, CheckToolPackages...)
}

// ModDownload downloads the modules of the go.mod in the working directory.
func ModDownload() []string {
	return []string{"go", "mod", "download"}
}

// InstallPostgres installs Debian's PostgreSQL server (for tests that start
// their own throwaway server).
func InstallPostgres() []string {
	return []string{"sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null"}
}
