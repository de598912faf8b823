// The go-aks pipeline: the checks, build, release and deployment of the orders
// service as Dagger functions. `dagger call ci` on a laptop runs exactly the
// checks CI runs; azure-pipelines.yml only calls these functions.
//
// Each check stage runs `hack/stage.sh STAGE` from the repository inside a Go
// container, the same script .ci/run runs, so there is one definition of what
// a check does. Release and deployment run the repository's own cmd/release
// and cmd/deploy, built in the same Go container.
package main

import (
	"context"
	"fmt"
	"strings"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/toolchain"
)

const (
	srcDir    = "/src"
	reportDir = "/reports"
	// Cache volume names; shared by every function of this module.
	goModCache   = "go-aks-pipeline-gomod"
	goBuildCache = "go-aks-pipeline-gobuild"
	lintCache    = "go-aks-pipeline-golangci-lint"
	aptCache     = "go-aks-pipeline-apt"
)

// Pipeline is the CI/CD pipeline of the orders service.
type Pipeline struct {
	// The repository being built.
	// +private
	Source *dagger.Directory
	// Registry (and path prefix) base images are pulled from.
	// +private
	ImageRegistry string
	// Go build image; empty means derived from go.mod.
	// +private
	GoImage string
	// Debian variant of the golang image.
	// +private
	GoImageVariant string
	// PostgreSQL image for integration tests, relative to ImageRegistry.
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
}

// New creates the pipeline for a repository.
func New(
	// The repository to build and check. Defaults to the repository that holds dagger.json.
	// +defaultPath="/"
	// +ignore=[".git", "out", "**/.DS_Store", "**/.idea", "**/.vscode", "ci/internal/dagger", "ci/internal/querybuilder", "ci/internal/telemetry", "ci/dagger.gen.go", "ci/tests/internal/dagger", "ci/tests/internal/querybuilder", "ci/tests/internal/telemetry", "ci/tests/dagger.gen.go"]
	source *dagger.Directory,
	// Registry and path prefix base images come from, for teams behind a mirror or an ACR cache rule (e.g. myacr.azurecr.io/docker.io/library).
	// +optional
	// +default="docker.io/library"
	imageRegistry string,
	// Go build image. Empty: golang:<version>-<variant> from --image-registry, with the version the toolchain line of go.mod pins.
	// +optional
	goImage string,
	// Debian variant of the derived golang image tag.
	// +optional
	// +default="bookworm"
	goImageVariant string,
	// PostgreSQL image for the integration tests' database service, relative to --image-registry.
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
) *Pipeline {
	return &Pipeline{
		Source:         source,
		ImageRegistry:  imageRegistry,
		GoImage:        goImage,
		GoImageVariant: goImageVariant,
		PostgresImage:  postgresImage,
		SourceURL:      sourceUrl,
		Revision:       revision,
		Created:        created,
	}
}

// goImageRef returns the golang image to build with.
func (m *Pipeline) goImageRef(ctx context.Context) (string, error) {
	if m.GoImage != "" {
		return m.GoImage, nil
	}
	gomod, err := m.Source.File("go.mod").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read go.mod to pick the Go image: %w", err)
	}
	img, err := toolchain.GoImage([]byte(gomod), m.ImageRegistry, m.GoImageVariant)
	if err != nil {
		return "", fmt.Errorf("pick the Go image: %w", err)
	}
	return img, nil
}

// goBase returns the Go toolchain container with the module, build and
// linter caches mounted, before the source is added (so what is installed on
// top of it stays cached across source changes).
func (m *Pipeline) goBase(ctx context.Context) (*dagger.Container, error) {
	img, err := m.goImageRef(ctx)
	if err != nil {
		return nil, err
	}
	return dag.Container().
		From(img).
		// The image is the toolchain go.mod pins: never download another one.
		WithEnvVariable("GOTOOLCHAIN", "local").
		WithEnvVariable("GOFLAGS", "-buildvcs=false").
		WithEnvVariable("GOMODCACHE", "/go/pkg/mod").
		WithEnvVariable("GOCACHE", "/root/.cache/go-build").
		WithEnvVariable("GOLANGCI_LINT_CACHE", "/root/.cache/golangci-lint").
		WithMountedCache("/go/pkg/mod", dag.CacheVolume(goModCache)).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume(goBuildCache)).
		WithMountedCache("/root/.cache/golangci-lint", dag.CacheVolume(lintCache)), nil
}

// withSource adds the repository at /src as the working directory.
func (m *Pipeline) withSource(ctr *dagger.Container) *dagger.Container {
	return ctr.WithMountedDirectory(srcDir, m.Source).WithWorkdir(srcDir)
}

// goContainer returns the Go toolchain container with the repository at /src
// and the module, build and linter caches mounted.
func (m *Pipeline) goContainer(ctx context.Context) (*dagger.Container, error) {
	base, err := m.goBase(ctx)
	if err != nil {
		return nil, err
	}
	return m.withSource(base), nil
}

// withPostgresBinaries adds Debian's PostgreSQL server to a container, for the
// integration tests of the test harness that start their own throwaway server.
func withPostgresBinaries(ctr *dagger.Container) *dagger.Container {
	return ctr.
		WithMountedCache("/var/cache/apt/archives", dag.CacheVolume(aptCache), dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithExec([]string{"sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null"})
}

// goTool builds one of the repository's commands (cmd/release, cmd/deploy)
// with the toolchain go.mod pins, as a static binary.
func (m *Pipeline) goTool(ctx context.Context, name string) (*dagger.File, error) {
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return nil, err
	}
	out := "/out/" + name
	return ctr.
		WithEnvVariable("CGO_ENABLED", "0").
		WithExec([]string{"go", "build", "-trimpath", "-o", out, "./cmd/" + name}).
		File(out), nil
}

// toolContainer returns a container running one of the repository's commands:
// the golang image (CA certificates, a shell for the stage scripts) with the
// command at /usr/local/bin/NAME.
func (m *Pipeline) toolContainer(ctx context.Context, names ...string) (*dagger.Container, error) {
	img, err := m.goImageRef(ctx)
	if err != nil {
		return nil, err
	}
	ctr := dag.Container().From(img).WithWorkdir("/work")
	for _, name := range names {
		bin, err := m.goTool(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("build cmd/%s: %w", name, err)
		}
		ctr = ctr.WithFile("/usr/local/bin/"+name, bin)
	}
	return ctr, nil
}

// withRegistryService binds svc under the host name of registry when given,
// so a registry running as a Dagger service answers at that address.
func withRegistryService(ctr *dagger.Container, registry string, svc *dagger.Service) *dagger.Container {
	if svc == nil {
		return ctr
	}
	host, _, _ := strings.Cut(registry, ":")
	return ctr.WithServiceBinding(host, svc)
}

// withOptionalSecret sets the environment variable name from secret when given.
func withOptionalSecret(ctr *dagger.Container, name string, secret *dagger.Secret) *dagger.Container {
	if secret == nil {
		return ctr
	}
	return ctr.WithSecretVariable(name, secret)
}
