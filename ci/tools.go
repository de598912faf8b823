package main

import (
	"context"
	"fmt"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/toolchain"
	"dagger/pipeline/settings"
)

// Paths in the tools build container.
const (
	toolsSrc = "/pipeline"
	toolsOut = "/out"
)

// toolsGoImage returns the golang image the pipeline's own tools are built
// with: the version this module's go.mod pins (not the service's).
func (m *Pipeline) toolsGoImage(ctx context.Context) (string, error) {
	gomod, err := m.Tools.File("go.mod").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read the pipeline's own go.mod (--tools): %w", err)
	}
	img, err := toolchain.GoImage([]byte(gomod), m.ImageRegistry, m.GoImageVariant)
	if err != nil {
		return "", fmt.Errorf("pick the Go image of the pipeline's tools: %w", err)
	}
	return img, nil
}

// goCaches returns img with the module and build caches mounted and the Go
// settings every build here uses.
func goCaches(img string) *dagger.Container {
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
		WithMountedCache("/root/.cache/golangci-lint", dag.CacheVolume(lintCache))
}

// pipelineTools builds the pipeline's commands (release, deploy, check) from
// this module's repository. The layers are keyed on the tools' own files:
// go.mod/go.sum first (module download), then the sources, then the build,
// so a change of the service never rebuilds them.
func (m *Pipeline) pipelineTools(ctx context.Context) (*dagger.Directory, error) {
	img, err := m.toolsGoImage(ctx)
	if err != nil {
		return nil, err
	}
	mods := dag.Directory().
		WithFile("go.mod", m.Tools.File("go.mod")).
		WithFile("go.sum", m.Tools.File("go.sum")).
		WithFile("ci/go.mod", m.Tools.File("ci/go.mod")).
		WithFile("ci/go.sum", m.Tools.File("ci/go.sum")).
		// The root go.mod replaces the test harness module with this directory.
		WithFile("internal/testenv/postgres/go.mod", m.Tools.File("internal/testenv/postgres/go.mod")).
		WithFile("internal/testenv/postgres/go.sum", m.Tools.File("internal/testenv/postgres/go.sum"))
	env, args := cmdline.BuildTools(toolsOut+"/", cmdline.PipelineCommands...)
	ctr := goCaches(img).
		WithDirectory(toolsSrc, mods).
		WithWorkdir(toolsSrc).
		WithExec(cmdline.ModDownload()).
		WithDirectory(toolsSrc, m.Tools)
	for _, k := range cmdline.SortedEnv(env) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	return ctr.WithExec(args).Directory(toolsOut), nil
}

// checkTools builds golangci-lint, gotestsum and govulncheck at the versions
// hack/tools/go.mod of this module's repository pins; the layer is keyed on
// that go.mod and go.sum alone.
func (m *Pipeline) checkTools(ctx context.Context) (*dagger.Directory, error) {
	img, err := m.toolsGoImage(ctx)
	if err != nil {
		return nil, err
	}
	mods := dag.Directory().
		WithFile("hack/tools/go.mod", m.Tools.File("hack/tools/go.mod")).
		WithFile("hack/tools/go.sum", m.Tools.File("hack/tools/go.sum"))
	env, args := cmdline.BuildCheckTools(toolsOut + "/")
	ctr := goCaches(img).WithDirectory(toolsSrc, mods).WithWorkdir(toolsSrc + "/hack/tools")
	for _, k := range cmdline.SortedEnv(env) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	return ctr.WithExec(args).Directory(toolsOut), nil
}

// toolContainer returns a container running the pipeline's commands (release,
// deploy): the tools' golang image (CA certificates, a shell) with the
// commands in /usr/local/bin. The service's source is not in it.
func (m *Pipeline) toolContainer(ctx context.Context) (*dagger.Container, error) {
	img, err := m.toolsGoImage(ctx)
	if err != nil {
		return nil, err
	}
	bins, err := m.pipelineTools(ctx)
	if err != nil {
		return nil, fmt.Errorf("build the pipeline's commands: %w", err)
	}
	return dag.Container().From(img).
		WithDirectory(toolsBin, bins).
		WithWorkdir("/work"), nil
}

// serviceGoImage returns the golang image to build and test the service
// with: --go-image, or the version the service's go.mod pins.
func (m *Pipeline) serviceGoImage(ctx context.Context, svc settings.Service) (string, error) {
	if m.GoImage != "" {
		return m.GoImage, nil
	}
	gomod, err := m.Source.File(svc.ModulePath("go.mod")).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read the service's %s to pick the Go image: %w", svc.ModulePath("go.mod"), err)
	}
	img, err := toolchain.GoImage([]byte(gomod), m.ImageRegistry, m.GoImageVariant)
	if err != nil {
		return "", fmt.Errorf("pick the service's Go image: %w", err)
	}
	return img, nil
}

// serviceGo returns the service's Go toolchain container with its narrowed
// source for stage st at /src (the working directory) and the caches mounted.
func (m *Pipeline) serviceGo(ctx context.Context, svc settings.Service, st stage) (*dagger.Container, error) {
	img, err := m.serviceGoImage(ctx, svc)
	if err != nil {
		return nil, err
	}
	gomod, err := m.goMod(ctx, svc.Module)
	if err != nil {
		return nil, err
	}
	src, err := m.goSource(svc, gomod, st)
	if err != nil {
		return nil, err
	}
	base := goCaches(img)
	if st == stageIntegration && svc.Integration.Postgres {
		base = withPostgresBinaries(base)
	}
	return base.WithMountedDirectory(srcDir, src).WithWorkdir(srcDir), nil
}

// checkContainer returns the container a check stage runs in: the service's
// Go toolchain, the check runner and its tools in /usr/local/bin, the
// resolved settings, the default lint configuration, and the stage's part of
// the source at /src.
func (m *Pipeline) checkContainer(ctx context.Context, svc settings.Service, st stage) (*dagger.Container, error) {
	ctr, err := m.serviceGo(ctx, svc, st)
	if err != nil {
		return nil, err
	}
	cmds, err := m.pipelineTools(ctx)
	if err != nil {
		return nil, err
	}
	checkers, err := m.checkTools(ctx)
	if err != nil {
		return nil, err
	}
	file, err := settingsFile(svc)
	if err != nil {
		return nil, err
	}
	return ctr.
		WithFile(toolsBin+"/check", cmds.File("check")).
		WithDirectory(toolsBin, checkers).
		WithFile(settingsPath, file).
		WithFile(defaultLintConfigPath, m.Tools.File("ci/golangci.default.yml")), nil
}

// withPostgresBinaries adds Debian's PostgreSQL server to a container, for
// integration tests that start their own throwaway server when no database
// is given.
func withPostgresBinaries(ctr *dagger.Container) *dagger.Container {
	return ctr.
		WithMountedCache("/var/cache/apt/archives", dag.CacheVolume(aptCache), dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModeLocked}).
		WithExec(cmdline.InstallPostgres())
}
