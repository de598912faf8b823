// Package settings holds a Go service's pipeline settings: where its Go
// module, main package, manifests and test suites are, what it is called and
// for which platforms it is built. A service states them in an optional
// pipeline.yaml at the root of its repository; the Dagger module's
// constructor arguments override the file, and defaults fit a conventional
// layout (go.mod at the root, main package at the root, manifests/ with
// overlays/ENVIRONMENT, an acceptance suite in ./acceptance).
//
// The Dagger module and the release rehearsal both read settings through
// this package, so a service is described the same way wherever it is
// released.
package settings

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileName is the settings file a service may keep at its repository root.
const FileName = "pipeline.yaml"

// Service is a service's settings. Paths are slash-separated and relative:
// Module, Manifests and the lint config to the source root; Main and the
// test packages to Module.
type Service struct {
	// Module is the directory of the service's go.mod ("." by default).
	Module string `yaml:"module"`
	// Main is the main package of the image's binary, relative to Module
	// ("." by default).
	Main string `yaml:"main"`
	// Binary is the binary's name inside the image (/app/BINARY). Default:
	// the last element of Main, or of the Go module path when Main is ".".
	Binary string `yaml:"binary"`
	// Platforms the image is built for (linux/amd64 and linux/arm64 by default).
	Platforms []string `yaml:"platforms"`
	// Manifests is the kustomize directory ("manifests" by default).
	Manifests string `yaml:"manifests"`
	// Overlays maps an environment to its overlay, relative to Manifests
	// (staging: overlays/staging, production: overlays/production by default).
	Overlays map[string]string `yaml:"overlays"`
	// Acceptance is the acceptance suite run against a deployed environment.
	Acceptance Suite `yaml:"acceptance"`
	// Integration is the integration-test suite.
	Integration Integration `yaml:"integration"`
	// Lint selects the linter configuration.
	Lint Lint `yaml:"lint"`
	// Vuln configures the vulnerability check.
	Vuln Vuln `yaml:"vuln"`
	// Port is the TCP port the service listens on in its image (8080 by default).
	Port int `yaml:"port"`
}

// Vuln configures the vulnerability check.
type Vuln struct {
	// Allow is the allow-list of accepted govulncheck findings, relative to
	// the source root: lines "OSV-ID REVIEW-DATE REASON". Empty: none.
	Allow string `yaml:"allow"`
}

// Suite is a test suite selected by package pattern and build tag.
type Suite struct {
	// Packages is the package pattern, relative to Module ("./acceptance/..."
	// for the acceptance suite by default).
	Packages string `yaml:"packages"`
	// Tag is the build tag the suite's files carry ("acceptance" by default).
	Tag string `yaml:"tag"`
}

// Integration is the integration-test suite and what it needs.
type Integration struct {
	// Packages is the package pattern, relative to Module ("./..." by default).
	Packages string `yaml:"packages"`
	// Tag is the build tag of the integration tests ("integration" by default).
	Tag string `yaml:"tag"`
	// Postgres starts a PostgreSQL service for the integration tests, reached
	// through TEST_DB_HOST, TEST_DB_PORT, TEST_DB_NAME, TEST_DB_USER,
	// TEST_DB_PASSWORD and TEST_DB_SSLMODE.
	Postgres bool `yaml:"postgres"`
}

// Lint selects the golangci-lint configuration.
type Lint struct {
	// Config is the golangci-lint configuration file, relative to the source
	// root. Empty: the service's own .golangci.yml (or .golangci.yaml) in
	// Module when it has one, otherwise the pipeline's default configuration.
	Config string `yaml:"config"`
}

// DefaultPort is the port a service listens on unless its settings say otherwise.
const DefaultPort = 8080

// Default platforms and environments.
var (
	DefaultPlatforms    = []string{"linux/amd64", "linux/arm64"}
	DefaultEnvironments = []string{"staging", "production"}
)

// Error is an invalid setting: Field is its key in pipeline.yaml (dotted,
// e.g. "acceptance.tag"), Flag the Dagger argument that sets it, if any.
type Error struct {
	Field  string
	Flag   string
	Value  string
	Reason string
}

func (e *Error) Error() string {
	where := FileName + " " + e.Field
	if e.Flag != "" {
		where += " (or --" + e.Flag + ")"
	}
	return fmt.Sprintf("%s %q: %s", where, e.Value, e.Reason)
}

// Parse reads a pipeline.yaml. Unknown fields are refused, so a misspelt key
// fails instead of being ignored. The result is not defaulted: call
// Merge/Resolve.
func Parse(data []byte) (Service, error) {
	var s Service
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Service{}, fmt.Errorf("%s: %w", FileName, err)
	}
	return s, nil
}

// Merge returns s with every field that o sets (non-empty) taken from o:
// the Dagger module's arguments override the file this way.
func (s Service) Merge(o Service) Service {
	pick := func(a, b string) string {
		if b != "" {
			return b
		}
		return a
	}
	s.Module = pick(s.Module, o.Module)
	s.Main = pick(s.Main, o.Main)
	s.Binary = pick(s.Binary, o.Binary)
	if len(o.Platforms) > 0 {
		s.Platforms = o.Platforms
	}
	s.Manifests = pick(s.Manifests, o.Manifests)
	if len(o.Overlays) > 0 {
		merged := map[string]string{}
		for k, v := range s.Overlays {
			merged[k] = v
		}
		for k, v := range o.Overlays {
			merged[k] = v
		}
		s.Overlays = merged
	}
	s.Acceptance.Packages = pick(s.Acceptance.Packages, o.Acceptance.Packages)
	s.Acceptance.Tag = pick(s.Acceptance.Tag, o.Acceptance.Tag)
	s.Integration.Packages = pick(s.Integration.Packages, o.Integration.Packages)
	s.Integration.Tag = pick(s.Integration.Tag, o.Integration.Tag)
	s.Integration.Postgres = s.Integration.Postgres || o.Integration.Postgres
	s.Lint.Config = pick(s.Lint.Config, o.Lint.Config)
	s.Vuln.Allow = pick(s.Vuln.Allow, o.Vuln.Allow)
	if o.Port != 0 {
		s.Port = o.Port
	}
	return s
}

// Marshal writes s as pipeline.yaml; Parse reads it back unchanged.
func Marshal(s Service) ([]byte, error) {
	data, err := yaml.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", FileName, err)
	}
	return data, nil
}

// Resolve fills the defaults and validates every field. modulePath is the
// module line of the service's go.mod, used for the default binary name.
func (s Service) Resolve(modulePath string) (Service, error) {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.Module, ".")
	def(&s.Main, ".")
	def(&s.Manifests, "manifests")
	def(&s.Acceptance.Packages, "./acceptance/...")
	def(&s.Acceptance.Tag, "acceptance")
	def(&s.Integration.Packages, "./...")
	def(&s.Integration.Tag, "integration")
	if len(s.Platforms) == 0 {
		s.Platforms = append([]string(nil), DefaultPlatforms...)
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if len(s.Overlays) == 0 {
		s.Overlays = map[string]string{}
		for _, env := range DefaultEnvironments {
			s.Overlays[env] = "overlays/" + env
		}
	}
	if s.Binary == "" {
		base := path.Base(path.Clean(s.Main))
		if s.Main == "." || base == "." || base == "/" {
			base = path.Base(strings.TrimSpace(modulePath))
		}
		s.Binary = base
	}
	return s, s.Validate()
}

var (
	binaryPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	envPattern    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)
	platformArch  = map[string]bool{"amd64": true, "arm64": true}
)

// Validate checks a resolved Service and names the field to fix.
func (s Service) Validate() error {
	var errs []error
	bad := func(field, flag, value, reason string) {
		errs = append(errs, &Error{Field: field, Flag: flag, Value: value, Reason: reason})
	}
	for _, f := range []struct{ field, flag, v string }{
		{"module", "go-module", s.Module},
		{"manifests", "manifests", s.Manifests},
		{"lint.config", "lint-config", s.Lint.Config},
		{"vuln.allow", "vuln-allow", s.Vuln.Allow},
	} {
		if f.v == "" && (f.field == "lint.config" || f.field == "vuln.allow") {
			continue
		}
		if reason := relPathProblem(f.v); reason != "" {
			bad(f.field, f.flag, f.v, reason)
		}
	}
	for _, f := range []struct{ field, flag, v string }{
		{"main", "main", s.Main},
		{"acceptance.packages", "acceptance-packages", s.Acceptance.Packages},
		{"integration.packages", "integration-packages", s.Integration.Packages},
	} {
		if reason := packageProblem(f.v); reason != "" {
			bad(f.field, f.flag, f.v, reason)
		}
	}
	if strings.HasSuffix(s.Main, "...") {
		bad("main", "main", s.Main, "must name one main package, not a pattern")
	}
	if s.Port < 1 || s.Port > 65535 {
		bad("port", "", fmt.Sprint(s.Port), "must be a TCP port, 1 to 65535")
	}
	if !binaryPattern.MatchString(s.Binary) {
		bad("binary", "binary", s.Binary, "must be a file name: letters, digits, . _ -, at most 63")
	}
	for _, f := range []struct{ field, flag, v string }{
		{"acceptance.tag", "acceptance-tag", s.Acceptance.Tag},
		{"integration.tag", "integration-tag", s.Integration.Tag},
	} {
		if !tagPattern.MatchString(f.v) {
			bad(f.field, f.flag, f.v, "must be a Go build tag (letters, digits, _ and .)")
		}
	}
	seen := map[string]bool{}
	for _, p := range s.Platforms {
		if seen[p] {
			bad("platforms", "platform", p, "is listed twice")
		}
		seen[p] = true
		if reason := platformProblem(p); reason != "" {
			bad("platforms", "platform", p, reason)
		}
	}
	for _, env := range s.Environments() {
		if !envPattern.MatchString(env) {
			bad("overlays", "overlay", env, "is not an environment name (lower-case letters, digits and -)")
		}
		if reason := relPathProblem(s.Overlays[env]); reason != "" {
			bad("overlays."+env, "overlay", s.Overlays[env], reason)
		}
	}
	return errors.Join(errs...)
}

// Environments returns the environments that have an overlay, sorted.
func (s Service) Environments() []string {
	envs := make([]string, 0, len(s.Overlays))
	for env := range s.Overlays {
		envs = append(envs, env)
	}
	sort.Strings(envs)
	return envs
}

// Overlay returns the overlay of environment relative to the source root,
// or an error listing the environments that have one.
func (s Service) Overlay(flag, environment string) (string, error) {
	o, ok := s.Overlays[environment]
	if !ok {
		return "", fmt.Errorf("--%s %q has no overlay: the service's environments are %s (%s overlays)",
			flag, environment, strings.Join(s.Environments(), ", "), FileName)
	}
	return path.Join(s.Manifests, o), nil
}

// ModulePath returns p (relative to Module) relative to the source root.
func (s Service) ModulePath(p string) string {
	return path.Join(s.Module, p)
}

func relPathProblem(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return "must be relative to the source root, not absolute"
	case strings.ContainsAny(p, "\\\n\t"):
		return "must be a slash-separated path"
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "must stay inside the source (no ..)"
	}
	return ""
}

func packageProblem(p string) string {
	if p == "." || p == "./..." {
		return ""
	}
	if !strings.HasPrefix(p, "./") {
		return "must be a relative package path starting with ./ (e.g. ./cmd/server)"
	}
	return relPathProblem(strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/..."))
}

func platformProblem(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return "is not os/arch (e.g. linux/amd64)"
	}
	if parts[0] != "linux" || !platformArch[parts[1]] {
		return "is not supported: images are built for linux/amd64 and linux/arm64"
	}
	return ""
}
