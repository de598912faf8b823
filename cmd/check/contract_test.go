package main

import (
	"bytes"
	"reflect"
	"testing"

	"dagger/pipeline/cmdline"
)

// TestPipelineCommandLinesParse is the contract between ci/cmdline.CheckArgs
// (the one builder of the check runner's command lines, used by the Dagger
// module and hack/stage.sh) and this command: every kind of line it builds
// is parsed by the runner's own flag definitions, each option landing where
// it is meant.
func TestPipelineCommandLinesParse(t *testing.T) {
	every := cmdline.CheckOptions{Settings: "/run/pipeline/pipeline.yaml", Source: "/src", Reports: "/reports", Module: "app",
		DefaultLintConfig: "/run/pipeline/golangci.default.yml", ToolsModfile: "/src/hack/tools/go.mod", VulnAllow: "hack/vuln-allow.txt",
		LintConfig: ".golangci.yml", Packages: []string{"./...", "./cmd/..."}}
	every.Stage = "lint"
	rv := reflect.ValueOf(every)
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			t.Errorf("cmdline.CheckOptions.%s is not set by the every-option line: set it and check where it lands", rv.Type().Field(i).Name)
		}
	}
	for _, stage := range cmdline.CheckStages {
		for name, o := range map[string]cmdline.CheckOptions{
			"every option":  every,
			"required only": {Source: "/src", Reports: "/reports"},
		} {
			t.Run(stage+"/"+name, func(t *testing.T) {
				o.Stage = stage
				args, err := cmdline.CheckArgs("/usr/local/bin/check", o)
				if err != nil {
					t.Fatal(err)
				}
				var stderr bytes.Buffer
				got, err := parseArgs(args[1:], &stderr)
				if err != nil {
					t.Fatalf("check rejects the pipeline's command line %q: %v\n%s", args, err, stderr.String())
				}
				if len(got.packages) == 0 {
					got.packages = nil // none given: nil or empty alike
				}
				want := config{stage: stage, settingsFile: o.Settings, source: o.Source, reports: o.Reports, module: o.Module,
					defaultLintConfig: o.DefaultLintConfig, toolsModfile: o.ToolsModfile, vulnAllow: o.VulnAllow,
					lintConfig: o.LintConfig, packages: o.Packages}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("parsed %q as\n%+v\nwant %+v", args, got, want)
				}
			})
		}
	}
}
