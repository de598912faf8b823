package main

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/report"
)

// Platforms the published image is built for.
var imagePlatforms = []string{"linux/amd64", "linux/arm64"}

// buildBinary compiles the service for platform (static, reproducible) in
// ctr; the exec may fail so that `ci` can report it.
func buildBinary(ctr *dagger.Container, p cmdline.Platform) (*dagger.Container, string) {
	out := "/out/" + strings.ReplaceAll(p.String(), "/", "_") + "/" + cmdline.BinaryName
	env, args := cmdline.GoBuild(p, out)
	for _, k := range cmdline.SortedEnv(env) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	return ctr.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}), out
}

// Binary returns the service's static binary (CGO disabled, trimmed paths) for a platform.
func (m *Pipeline) Binary(
	ctx context.Context,
	// Platform to build for, linux/amd64 or linux/arm64. Empty: the engine's platform.
	// +optional
	platform dagger.Platform,
) (*dagger.File, error) {
	if platform == "" {
		p, err := dag.DefaultPlatform(ctx)
		if err != nil {
			return nil, fmt.Errorf("find the engine's platform: %w", err)
		}
		platform = p
	}
	p, err := cmdline.ParsePlatform("platform", string(platform))
	if err != nil {
		return nil, err
	}
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return nil, err
	}
	built, out := buildBinary(ctr, p)
	code, err := built.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", p, err)
	}
	if code != 0 {
		log, _ := built.CombinedOutput(ctx)
		return nil, fmt.Errorf("build %s failed with exit code %d:\n%s", p, code, report.Tail(log, 40))
	}
	return built.File(out), nil
}

// Container returns the service image for one platform as a container, for
// local use (`dagger call container as-service up --ports 8080:8080`,
// `dagger call container export --path orders.tar`): the static binary at
// /app/orders on an empty base, run as the non-root user 65532, with the same
// entry point and OCI labels as the published image.
func (m *Pipeline) Container(
	ctx context.Context,
	// Platform to build for. Empty: the engine's platform.
	// +optional
	platform dagger.Platform,
) (*dagger.Container, error) {
	bin, err := m.Binary(ctx, platform)
	if err != nil {
		return nil, err
	}
	info := m.buildInfo()
	if err := info.Validate(); err != nil {
		return nil, err
	}
	opts := dagger.ContainerOpts{}
	if platform != "" {
		opts.Platform = platform
	}
	return dag.Container(opts).
		WithFile("/app/"+cmdline.BinaryName, bin, dagger.ContainerWithFileOpts{Permissions: 0o555}).
		WithUser("65532:65532").
		WithWorkdir("/").
		WithEntrypoint([]string{"/app/" + cmdline.BinaryName}).
		WithExposedPort(8080).
		WithLabel("org.opencontainers.image.source", info.SourceURL).
		WithLabel("org.opencontainers.image.revision", info.Revision).
		WithLabel("org.opencontainers.image.created", info.Created), nil
}

// buildInfo is the provenance recorded in the image labels.
func (m *Pipeline) buildInfo() cmdline.BuildInfo {
	return cmdline.BuildInfo{SourceURL: m.SourceURL, Revision: m.Revision, Created: m.Created}
}

// buildLayout compiles the service for every image platform in parallel and
// assembles the multi-platform OCI image layout with `release image` (the same
// Go code the end-to-end test uses). The execs may fail; the result's stage
// records how, and layout is nil when the build failed.
func (m *Pipeline) buildLayout(ctx context.Context) (*dagger.Directory, stageResult, error) {
	info := m.buildInfo()
	if err := info.Validate(); err != nil {
		return nil, stageResult{}, err
	}
	ctr, err := m.goContainer(ctx)
	if err != nil {
		return nil, stageResult{}, err
	}
	type built struct {
		ctr  *dagger.Container
		out  string
		code int
		log  string
	}
	builds := make([]built, len(imagePlatforms))
	g, gctx := errgroup.WithContext(ctx)
	for i, ps := range imagePlatforms {
		g.Go(func() error {
			p, err := cmdline.ParsePlatform("platform", ps)
			if err != nil {
				return err
			}
			c, out := buildBinary(ctr, p)
			code, err := c.ExitCode(gctx)
			if err != nil {
				return fmt.Errorf("build %s: %w", ps, err)
			}
			log, err := c.CombinedOutput(gctx)
			if err != nil {
				return fmt.Errorf("build %s: read its output: %w", ps, err)
			}
			builds[i] = built{ctr: c, out: out, code: code, log: fmt.Sprintf("==> go build %s\n%s", ps, log)}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, stageResult{}, err
	}
	var logs strings.Builder
	st := report.Stage{Name: "build", Reports: []string{"logs/build.log"}}
	for _, b := range builds {
		logs.WriteString(b.log)
		if b.code != 0 && st.ExitCode == 0 {
			st.ExitCode = b.code
			st.Reason = "go build failed"
		}
	}
	if st.ExitCode != 0 {
		return nil, stageResult{stage: st, output: logs.String(), reports: dag.Directory().WithNewFile("logs/build.log", logs.String())}, nil
	}

	release, err := m.goTool(ctx, "release")
	if err != nil {
		return nil, stageResult{}, err
	}
	bins := map[string]string{}
	img := ctr.WithFile("/usr/local/bin/release", release)
	for i, ps := range imagePlatforms {
		path := "/bins/" + strings.ReplaceAll(ps, "/", "_") + "/" + cmdline.BinaryName
		img = img.WithFile(path, builds[i].ctr.File(builds[i].out))
		bins[ps] = path
	}
	args, err := cmdline.ImageArgs("release", bins, info, "/layout")
	if err != nil {
		return nil, stageResult{}, err
	}
	img = img.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := img.ExitCode(ctx)
	if err != nil {
		return nil, stageResult{}, fmt.Errorf("assemble the image: %w", err)
	}
	out, err := img.CombinedOutput(ctx)
	if err != nil {
		return nil, stageResult{}, fmt.Errorf("assemble the image: read its output: %w", err)
	}
	logs.WriteString("==> " + strings.Join(args, " ") + "\n" + out)
	st.ExitCode = code
	if code != 0 {
		st.Reason = "release image failed"
	}
	r := stageResult{stage: st, output: logs.String(), reports: dag.Directory().WithNewFile("logs/build.log", logs.String())}
	if code != 0 {
		return nil, r, nil
	}
	return img.Directory("/layout"), r, nil
}

// buildStage is the build as a stage of `ci`.
func (m *Pipeline) buildStage(ctx context.Context) (stageResult, error) {
	_, r, err := m.buildLayout(ctx)
	return r, err
}

// Build builds the service's multi-platform image (linux/amd64 and
// linux/arm64): a static binary at /app/orders on an empty base, run as the
// non-root user 65532, entry point set, OCI labels source, revision and
// created. It returns the image as an OCI image layout directory, the form
// `publish` pushes (`dagger call build export --path out/image`).
func (m *Pipeline) Build(ctx context.Context) (*dagger.Directory, error) {
	layout, r, err := m.buildLayout(ctx)
	if err != nil {
		return nil, err
	}
	if r.stage.Failed() {
		return nil, stageError(r)
	}
	return layout, nil
}
