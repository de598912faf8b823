package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/settings"
)

// config is the parsed command line.
type config struct {
	stage             string
	settingsFile      string
	source            string
	reports           string
	module            string
	defaultLintConfig string
	toolsModfile      string
	vulnAllow         string
	lintConfig        string
	packages          []string
}

// parseArgs parses `check STAGE FLAGS...`.
func parseArgs(args []string, stderr io.Writer) (config, error) {
	usage := fmt.Sprintf("usage: check {%s} --source DIR --reports DIR [flags]", strings.Join(cmdline.CheckStages, "|"))
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, usage)
			return config{}, flag.ErrHelp
		}
		return config{}, errors.New(usage)
	}
	c := config{stage: args[0]}
	known := false
	for _, s := range cmdline.CheckStages {
		known = known || s == c.stage
	}
	if !known {
		return config{}, fmt.Errorf("unknown check %q: %s", c.stage, usage)
	}
	fs := flag.NewFlagSet("check "+c.stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.source, cmdline.FlagSource, ".", "the service's source root; paths in the settings are relative to it")
	fs.StringVar(&c.reports, cmdline.FlagReports, "out/reports", "directory the reports are written to")
	fs.StringVar(&c.settingsFile, cmdline.FlagSettings, "", "the service's settings (pipeline.yaml); empty: defaults")
	fs.StringVar(&c.module, cmdline.FlagModule, "", "Go module directory relative to --source, overriding the settings' module")
	fs.StringVar(&c.defaultLintConfig, cmdline.FlagDefaultLintConfig, "", "golangci-lint configuration when the settings name none and the module has no .golangci.yml")
	fs.StringVar(&c.toolsModfile, cmdline.FlagToolsModfile, "", "run golangci-lint, gotestsum and govulncheck with `go tool -modfile=FILE` instead of from PATH")
	fs.StringVar(&c.vulnAllow, cmdline.FlagVulnAllow, "", "govulncheck allow-list relative to --source, overriding the settings' vuln.allow")
	fs.StringVar(&c.lintConfig, cmdline.FlagLintConfig, "", "golangci-lint configuration relative to --source, overriding the settings' lint.config")
	packages := fs.String(cmdline.FlagPackages, "", "package patterns lint and vuln check, space-separated (default ./...)")
	if err := fs.Parse(args[1:]); err != nil {
		return config{}, err
	}
	c.packages = strings.Fields(*packages)
	for _, p := range c.packages {
		if !strings.HasPrefix(p, "./") && p != "." {
			return config{}, fmt.Errorf("--%s %q: patterns are relative to the Go module (e.g. ./cmd/... or ./... for all)", cmdline.FlagPackages, p)
		}
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q: %s", fs.Args(), usage)
	}
	return c, nil
}

// loadSettings reads the settings file (if any), applies the overrides and
// resolves them with the module path of the service's go.mod.
func loadSettings(c config) (settings.Service, error) {
	var s settings.Service
	if c.settingsFile != "" {
		data, err := os.ReadFile(c.settingsFile)
		if err != nil {
			return settings.Service{}, fmt.Errorf("--%s: %w", cmdline.FlagSettings, err)
		}
		if s, err = settings.Parse(data); err != nil {
			return settings.Service{}, fmt.Errorf("--%s %s: %w", cmdline.FlagSettings, c.settingsFile, err)
		}
	}
	s = s.Merge(settings.Service{Module: c.module, Vuln: settings.Vuln{Allow: c.vulnAllow}, Lint: settings.Lint{Config: c.lintConfig}})
	mod := s.Module
	if mod == "" {
		mod = "."
	}
	gomod := filepath.Join(c.source, filepath.FromSlash(mod), "go.mod")
	data, err := os.ReadFile(gomod) //nolint:gosec // the service's go.mod under --source
	if err != nil {
		return settings.Service{}, fmt.Errorf("read the service's go.mod (settings module, or --%s): %w", cmdline.FlagModule, err)
	}
	path := modfile.ModulePath(data)
	if path == "" {
		return settings.Service{}, fmt.Errorf("%s has no module line", gomod)
	}
	return s.Resolve(path)
}
