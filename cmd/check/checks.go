package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/settings"

	"github.com/go-aks/pipeline/internal/vulngate"
)

// checker runs one check of one service.
type checker struct {
	cfg       config
	svc       settings.Service
	moduleDir string // absolute
	reports   string // absolute
	modfile   string // absolute, or empty: tools from PATH
	stdout    io.Writer
	stderr    io.Writer
}

func newChecker(cfg config, stdout, stderr io.Writer) (*checker, error) {
	svc, err := loadSettings(cfg)
	if err != nil {
		return nil, err
	}
	c := &checker{cfg: cfg, svc: svc, stdout: stdout, stderr: stderr}
	if c.moduleDir, err = filepath.Abs(filepath.Join(cfg.source, filepath.FromSlash(svc.Module))); err != nil {
		return nil, fmt.Errorf("--%s: %w", cmdline.FlagSource, err)
	}
	if c.reports, err = filepath.Abs(cfg.reports); err != nil {
		return nil, fmt.Errorf("--%s: %w", cmdline.FlagReports, err)
	}
	if cfg.toolsModfile != "" {
		if c.modfile, err = filepath.Abs(cfg.toolsModfile); err != nil {
			return nil, fmt.Errorf("--%s: %w", cmdline.FlagToolsModfile, err)
		}
	}
	if err := os.MkdirAll(c.reports, 0o750); err != nil {
		return nil, fmt.Errorf("--%s: %w", cmdline.FlagReports, err)
	}
	return c, nil
}

// run runs the configured check.
func (c *checker) run(ctx context.Context) error {
	switch c.cfg.stage {
	case "lint":
		return c.lint(ctx)
	case "vuln":
		return c.vuln(ctx)
	default:
		return c.test(ctx, c.cfg.stage)
	}
}

// sourcePath returns p (relative to --source) as an absolute path.
func (c *checker) sourcePath(p string) (string, error) {
	return filepath.Abs(filepath.Join(c.cfg.source, filepath.FromSlash(p)))
}

// lintConfig picks the golangci-lint configuration: the settings' lint.config,
// the module's own .golangci.yml/.golangci.yaml, or the default.
func (c *checker) lintConfig() (string, error) {
	if c.svc.Lint.Config != "" {
		p, err := c.sourcePath(c.svc.Lint.Config)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil { //nolint:gosec // a path under --source the settings name
			return "", fmt.Errorf("%s lint.config (or --lint-config) %q: %w", settings.FileName, c.svc.Lint.Config, err)
		}
		return p, nil
	}
	for _, name := range []string{".golangci.yml", ".golangci.yaml"} {
		p := filepath.Join(c.moduleDir, name)
		if _, err := os.Stat(p); err == nil { //nolint:gosec // the Go module's own configuration
			return p, nil
		}
	}
	if c.cfg.defaultLintConfig == "" {
		return "", fmt.Errorf("the Go module %s has no .golangci.yml and no --%s was given", c.svc.Module, cmdline.FlagDefaultLintConfig)
	}
	return filepath.Abs(c.cfg.defaultLintConfig)
}

// lint runs golangci-lint: JUnit and SARIF reports, the text report on
// standard output and in lint.txt.
func (c *checker) lint(ctx context.Context) error {
	cfg, err := c.lintConfig()
	if err != nil {
		return err
	}
	txt, err := os.Create(filepath.Join(c.reports, "lint.txt")) //nolint:gosec // a report in --reports
	if err != nil {
		return err
	}
	defer func() { _ = txt.Close() }()
	args := cmdline.Tool(c.modfile, "golangci-lint", cmdline.LintArgs(cfg, c.reports, c.cfg.packages...)...)
	if err := c.exec(ctx, io.MultiWriter(c.stdout, txt), args); err != nil {
		return fmt.Errorf("golangci-lint (config %s): %w", cfg, err)
	}
	return txt.Close()
}

// vuln runs govulncheck (JSON for the gate and as a report, then SARIF) and
// gates the called vulnerabilities with the allow-list.
func (c *checker) vuln(ctx context.Context) error {
	db := os.Getenv("GOVULNDB")
	var js bytes.Buffer
	if err := c.exec(ctx, &js, cmdline.Tool(c.modfile, "govulncheck", cmdline.VulnArgs("json", db, c.cfg.packages...)...)); err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.reports, "vuln.json"), js.Bytes(), 0o600); err != nil { //nolint:gosec // a report in --reports
		return err
	}
	var sarif bytes.Buffer
	if err := c.exec(ctx, &sarif, cmdline.Tool(c.modfile, "govulncheck", cmdline.VulnArgs("sarif", db, c.cfg.packages...)...)); err != nil {
		return fmt.Errorf("govulncheck -format sarif: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.reports, "vuln.sarif"), sarif.Bytes(), 0o600); err != nil { //nolint:gosec // a report in --reports
		return err
	}
	allow := ""
	if c.svc.Vuln.Allow != "" {
		p, err := c.sourcePath(c.svc.Vuln.Allow)
		if err != nil {
			return err
		}
		allow = p
	}
	txt, err := os.Create(filepath.Join(c.reports, "vuln.txt")) //nolint:gosec // a report in --reports
	if err != nil {
		return err
	}
	defer func() { _ = txt.Close() }()
	if err := vulngate.Check(io.MultiWriter(c.stdout, txt), &js, allow, time.Now()); err != nil {
		return err
	}
	return txt.Close()
}

// test runs a test check through gotestsum.
func (c *checker) test(ctx context.Context, stage string) error {
	goTest, err := cmdline.GoTestArgs(stage, c.svc)
	if err != nil {
		return err
	}
	args := cmdline.Tool(c.modfile, "gotestsum", cmdline.GotestsumArgs(stage, c.reports, os.Getenv("GOTESTSUM_FORMAT"), goTest...)...)
	if err := c.exec(ctx, c.stdout, args); err != nil {
		return fmt.Errorf("%s tests: %w", stage, err)
	}
	return nil
}

// exec runs args in the service's Go module directory, standard output to out.
func (c *checker) exec(ctx context.Context, out io.Writer, args []string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...) //nolint:gosec // command lines built by cmdline from validated settings
	cmd.Dir = c.moduleDir
	cmd.Stdout = out
	cmd.Stderr = c.stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return nil
}
