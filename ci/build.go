package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sync/errgroup"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/report"
	"dagger/pipeline/settings"
)

// buildBinary compiles the service's main package for platform (static,
// reproducible) in ctr, from its Go module directory; the exec may fail so
// that `ci` can report it.
func buildBinary(ctr *dagger.Container, svc settings.Service, p cmdline.Platform) (*dagger.Container, string, error) {
	out := "/out/" + strings.ReplaceAll(p.String(), "/", "_") + "/" + svc.Binary
	env, args, err := cmdline.GoBuild(p, svc.Main, out)
	if err != nil {
		return nil, "", err
	}
	for _, k := range cmdline.SortedEnv(env) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	ctr = ctr.WithWorkdir(path.Join(srcDir, svc.Module))
	return ctr.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}), out, nil
}

// Binary returns the service's static binary (CGO disabled, trimmed paths) for a platform.
// Default function caching (up to 7 days): a pure build of its inputs.
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
	svc, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
	ctr, err := m.serviceGo(ctx, svc, stageBuild)
	if err != nil {
		return nil, err
	}
	built, out, err := buildBinary(ctr, svc, p)
	if err != nil {
		return nil, err
	}
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
// `dagger call container export --path image.tar`): the static binary at
// /app/BINARY on an empty base, run as the non-root user 65532, with the same
// entry point and OCI labels as the published image.
// Default function caching (up to 7 days): a pure build of its inputs.
func (m *Pipeline) Container(
	ctx context.Context,
	// Platform to build for. Empty: the engine's platform.
	// +optional
	platform dagger.Platform,
) (*dagger.Container, error) {
	svc, err := m.settings(ctx)
	if err != nil {
		return nil, err
	}
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
		WithFile("/app/"+svc.Binary, bin, dagger.ContainerWithFileOpts{Permissions: 0o555}).
		WithUser("65532:65532").
		WithWorkdir("/").
		WithEntrypoint([]string{"/app/" + svc.Binary}).
		WithExposedPort(svc.Port).
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
	svc, err := m.settings(ctx)
	if err != nil {
		return nil, stageResult{}, err
	}
	ctr, err := m.serviceGo(ctx, svc, stageBuild)
	if err != nil {
		return nil, stageResult{}, err
	}
	type built struct {
		ctr  *dagger.Container
		out  string
		code int
		log  string
	}
	builds := make([]built, len(svc.Platforms))
	g, gctx := errgroup.WithContext(ctx)
	for i, ps := range svc.Platforms {
		g.Go(func() error {
			p, err := cmdline.ParsePlatform("platform", ps)
			if err != nil {
				return err
			}
			c, out, err := buildBinary(ctr, svc, p)
			if err != nil {
				return err
			}
			code, err := c.ExitCode(gctx)
			if err != nil {
				return fmt.Errorf("build %s: %w", ps, err)
			}
			if code != 0 {
				// A failed exec under ReturnTypeAny is cached like a success:
				// build again with a per-call input so the failure is this call's.
				if c, out, err = buildBinary(withNonce(ctr), svc, p); err != nil {
					return err
				}
				if code, err = c.ExitCode(gctx); err != nil {
					return fmt.Errorf("build %s: %w", ps, err)
				}
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

	img, err := m.toolContainer(ctx)
	if err != nil {
		return nil, stageResult{}, err
	}
	bins := map[string]string{}
	for i, ps := range svc.Platforms {
		p := "/bins/" + strings.ReplaceAll(ps, "/", "_") + "/" + svc.Binary
		img = img.WithFile(p, builds[i].ctr.File(builds[i].out))
		bins[ps] = p
	}
	args, err := cmdline.ImageArgs("release", svc.Binary, bins, info, "/layout")
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

// Build builds the service's multi-platform image (settings platforms;
// linux/amd64 and linux/arm64 by default): a static binary at /app/BINARY on
// an empty base, run as the non-root user 65532, entry point set, OCI labels
// source, revision and created. It returns the image as an OCI image layout
// directory, the form `publish` pushes (`dagger call build export --path
// out/image`).
// Default function caching (up to 7 days): a pure build of its inputs; a
// failed build is an error, and errors are never cached.
// +check
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
