// The go-aks pipeline: the checks, build, release and deployment of a Go
// service on Azure Kubernetes Service as Dagger functions. Any Go service can
// use it, from its own repository:
//
//	dagger -m github.com/go-aks/pipeline call --source=. ci
//
// or as a dependency of its own thin module (`dagger install
// github.com/go-aks/pipeline`, then dag.Pipeline(...)).
//
// The service's repository holds only the service: its Go module, its
// manifests and, optionally, pipeline.yaml (settings; constructor arguments
// override it). The pipeline's tools — cmd/release, cmd/deploy, the check
// runner cmd/check and golangci-lint, gotestsum and govulncheck — are built
// from this module's own repository (the tools argument), never from the
// service's source. The checks are defined once, in cmd/check, which this
// module's containers and this repository's hack/stage.sh both run.
package main

import (
	"dagger/pipeline/internal/dagger"
)

const (
	srcDir    = "/src"
	reportDir = "/reports"
	toolsBin  = "/usr/local/bin"
	// settingsPath is where a stage finds the resolved settings.
	settingsPath = "/run/pipeline/pipeline.yaml"
	// defaultLintConfigPath is where a stage finds the module's default golangci-lint configuration.
	defaultLintConfigPath = "/run/pipeline/golangci.default.yml"
	// Cache volume names; shared by every function of this module.
	goModCache   = "go-aks-pipeline-gomod"
	goBuildCache = "go-aks-pipeline-gobuild"
	lintCache    = "go-aks-pipeline-golangci-lint"
	aptCache     = "go-aks-pipeline-apt"
)

// Pipeline is the CI/CD pipeline of one Go service.
type Pipeline struct {
	// The service's repository.
	// +private
	Source *dagger.Directory
	// This module's repository, narrowed to the pipeline's tools.
	// +private
	Tools *dagger.Directory
	// Registry (and path prefix) base images are pulled from.
	// +private
	ImageRegistry string
	// Go build image; empty means derived from the service's go.mod.
	// +private
	GoImage string
	// Debian variant of the golang image.
	// +private
	GoImageVariant string
	// PostgreSQL image for integration and acceptance tests, relative to ImageRegistry.
	// +private
	PostgresImage string
	// Web address of the source repository (OCI label).
	// +private
	SourceURL string
	// Git commit the source is at (OCI label, image tag).
	// +private
	Revision string
	// Image creation time, RFC 3339 (OCI label).
	// +private
	Created string
	// Settings file of the service, relative to the source root.
	// +private
	SettingsFile string
	// Overrides of the settings file: Go module directory.
	// +private
	GoModule string
	// Overrides: main package.
	// +private
	Main string
	// Overrides: binary name.
	// +private
	BinaryName string
	// Overrides: target platforms.
	// +private
	Platforms []string
	// Overrides: manifests directory.
	// +private
	Manifests string
	// Overrides: ENVIRONMENT=OVERLAY pairs.
	// +private
	Overlays []string
	// Overrides: acceptance suite packages.
	// +private
	AcceptancePackages string
	// Overrides: acceptance suite build tag.
	// +private
	AcceptanceTag string
	// Overrides: integration-test packages.
	// +private
	IntegrationPackages string
	// Overrides: integration-test build tag.
	// +private
	IntegrationTag string
	// Overrides: PostgreSQL for the integration tests.
	// +private
	IntegrationPostgres bool
	// Overrides: golangci-lint configuration.
	// +private
	LintConfig string
	// Overrides: govulncheck allow-list.
	// +private
	VulnAllow string
}

// New creates the pipeline for a service's repository. Every setting of the
// service (main package, binary, platforms, manifests and overlays, test
// suites, linter configuration) comes from its pipeline.yaml when it has one;
// the arguments below override the file, and defaults fit a conventional
// layout (go.mod and the main package at the root, manifests/ with
// overlays/staging and overlays/production, the acceptance suite in
// ./acceptance with build tag acceptance, integration tests with build tag
// integration).
func New(
	// The service's repository (`--source=.`). Defaults to the repository that holds this module's dagger.json. Files that look like credentials (*.key, *.pem, *kubeconfig*, .env) never enter it.
	// +defaultPath="/"
	// +ignore=[".git", "out", "**/node_modules", "**/.DS_Store", "**/.idea", "**/.vscode", "**/*.key", "**/*.pem", "**/*kubeconfig*", "**/.env", "**/.env.*", "ci/internal/dagger", "ci/internal/querybuilder", "ci/internal/telemetry", "ci/dagger.gen.go", "ci/tests/internal/dagger", "ci/tests/internal/querybuilder", "ci/tests/internal/telemetry", "ci/tests/dagger.gen.go"]
	source *dagger.Directory,
	// The pipeline's tools: this module's own repository, narrowed to what builds cmd/release, cmd/deploy, cmd/check and the pinned golangci-lint, gotestsum and govulncheck, plus the default linter configuration. Always resolved in this module's repository; pass it only to test a changed tool.
	// +defaultPath="/"
	// +ignore=["*", "!go.mod", "!go.sum", "!cmd", "!internal", "!hack/tools", "!ci/go.mod", "!ci/go.sum", "!ci/cmdline", "!ci/settings", "!ci/imageref", "!ci/internal/imageref", "!ci/golangci.default.yml", "**/*_test.go", "**/testdata", "cmd/rehearse", "internal/rehearsal"]
	tools *dagger.Directory,
	// Registry and path prefix base images come from, for teams behind a mirror or an ACR cache rule (e.g. myacr.azurecr.io/docker.io/library).
	// +optional
	// +default="docker.io/library"
	imageRegistry string,
	// Go build image for the service. Empty: golang:<version>-<variant> from --image-registry, with the version the toolchain (or go) line of the service's go.mod pins.
	// +optional
	goImage string,
	// Debian variant of the derived golang image tag.
	// +optional
	// +default="bookworm"
	goImageVariant string,
	// PostgreSQL image for the test database service, relative to --image-registry.
	// +optional
	// +default="postgres:15-bookworm"
	postgresImage string,
	// Web address of the source repository, recorded in the image's org.opencontainers.image.source label.
	// +optional
	// +default="https://github.com/go-aks/pipeline"
	sourceUrl string,
	// Git commit being built (e.g. $(Build.SourceVersion)); recorded in the image's revision label and used as its tag. "dev" for local builds.
	// +optional
	// +default="dev"
	revision string,
	// Image creation time in RFC 3339 (e.g. the commit time). The fixed default keeps builds reproducible: the same source gives the same digest.
	// +optional
	// +default="1970-01-01T00:00:00Z"
	created string,
	// The service's settings file, relative to the source root; a missing file means defaults.
	// +optional
	// +default="pipeline.yaml"
	settingsFile string,
	// Directory of the service's go.mod, relative to the source root (settings: module; default ".").
	// +optional
	goModule string,
	// Main package of the image's binary, relative to the Go module (settings: main; default ".").
	// +optional
	main string,
	// Name of the binary inside the image, /app/BINARY (settings: binary; default: the main package's last element, or the Go module path's).
	// +optional
	binary string,
	// Platforms the image is built for, repeatable (settings: platforms; default linux/amd64 and linux/arm64).
	// +optional
	platform []string,
	// The kustomize directory, relative to the source root (settings: manifests; default "manifests").
	// +optional
	manifests string,
	// An environment's overlay as ENVIRONMENT=PATH, PATH relative to the manifests, repeatable (settings: overlays; default staging=overlays/staging, production=overlays/production).
	// +optional
	overlay []string,
	// Package pattern of the acceptance suite, relative to the Go module (settings: acceptance.packages; default ./acceptance/...).
	// +optional
	acceptancePackages string,
	// Build tag of the acceptance suite (settings: acceptance.tag; default acceptance).
	// +optional
	acceptanceTag string,
	// Package pattern of the integration tests, relative to the Go module (settings: integration.packages; default ./...).
	// +optional
	integrationPackages string,
	// Build tag of the integration tests (settings: integration.tag; default integration).
	// +optional
	integrationTag string,
	// Give the integration tests (and the acceptance check's service) a PostgreSQL service (settings: integration.postgres).
	// +optional
	integrationPostgres bool,
	// golangci-lint configuration, relative to the source root (settings: lint.config). Default: the service's own .golangci.yml when its Go module has one, this module's default configuration otherwise.
	// +optional
	lintConfig string,
	// govulncheck allow-list of accepted findings, relative to the source root (settings: vuln.allow; default none).
	// +optional
	vulnAllow string,
) *Pipeline {
	return &Pipeline{
		// +ignore is not applied to a directory another module passes: filter
		// credentials out here too, before any function reads the source.
		Source:              source.Filter(dagger.DirectoryFilterOpts{Exclude: credentialPatterns}),
		Tools:               tools,
		ImageRegistry:       imageRegistry,
		GoImage:             goImage,
		GoImageVariant:      goImageVariant,
		PostgresImage:       postgresImage,
		SourceURL:           sourceUrl,
		Revision:            revision,
		Created:             created,
		SettingsFile:        settingsFile,
		GoModule:            goModule,
		Main:                main,
		BinaryName:          binary,
		Platforms:           platform,
		Manifests:           manifests,
		Overlays:            overlay,
		AcceptancePackages:  acceptancePackages,
		AcceptanceTag:       acceptanceTag,
		IntegrationPackages: integrationPackages,
		IntegrationTag:      integrationTag,
		IntegrationPostgres: integrationPostgres,
		LintConfig:          lintConfig,
		VulnAllow:           vulnAllow,
	}
}
