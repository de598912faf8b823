package main

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/settings"
)

// overrides returns the constructor's settings arguments as a settings.Service
// to merge over the file.
func (m *Pipeline) overrides() (settings.Service, error) {
	o := settings.Service{
		Module:    m.GoModule,
		Main:      m.Main,
		Binary:    m.BinaryName,
		Platforms: m.Platforms,
		Manifests: m.Manifests,
		Acceptance: settings.Suite{
			Packages: m.AcceptancePackages,
			Tag:      m.AcceptanceTag,
		},
		Integration: settings.Integration{
			Packages: m.IntegrationPackages,
			Tag:      m.IntegrationTag,
			Postgres: m.IntegrationPostgres,
		},
		Lint: settings.Lint{Config: m.LintConfig},
		Vuln: settings.Vuln{Allow: m.VulnAllow},
	}
	for _, kv := range m.Overlays {
		env, dir, ok := strings.Cut(kv, "=")
		if !ok || env == "" || dir == "" {
			return settings.Service{}, fmt.Errorf("--overlay %q is not ENVIRONMENT=PATH (e.g. staging=overlays/staging)", kv)
		}
		if o.Overlays == nil {
			o.Overlays = map[string]string{}
		}
		o.Overlays[env] = dir
	}
	return o, nil
}

// settings reads the service's settings file (when it exists), merges the
// constructor's arguments over it, and resolves defaults with the module path
// of the service's go.mod.
func (m *Pipeline) settings(ctx context.Context) (settings.Service, error) {
	var file settings.Service
	name := m.SettingsFile
	if name == "" {
		name = settings.FileName
	}
	exists, err := m.Source.Exists(ctx, name, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return settings.Service{}, fmt.Errorf("--settings-file %s: %w", name, err)
	}
	if exists {
		data, err := m.Source.File(name).Contents(ctx)
		if err != nil {
			return settings.Service{}, fmt.Errorf("--settings-file %s: %w", name, err)
		}
		if file, err = settings.Parse([]byte(data)); err != nil {
			return settings.Service{}, err
		}
	}
	o, err := m.overrides()
	if err != nil {
		return settings.Service{}, err
	}
	merged := file.Merge(o)
	mod := merged.Module
	if mod == "" {
		mod = "."
	}
	gomod, err := m.goMod(ctx, mod)
	if err != nil {
		return settings.Service{}, err
	}
	return merged.Resolve(gomod.Module.Mod.Path)
}

// goMod reads and parses the go.mod of the service's Go module directory.
func (m *Pipeline) goMod(ctx context.Context, module string) (*modfile.File, error) {
	name := path.Join(module, "go.mod")
	data, err := m.Source.File(name).Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the service's %s (settings module, or --go-module): %w", name, err)
	}
	f, err := modfile.Parse(name, []byte(data), nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if f.Module == nil {
		return nil, fmt.Errorf("%s has no module line", name)
	}
	return f, nil
}

// settingsFile returns the resolved settings as a file for the check runner.
func settingsFile(svc settings.Service) (*dagger.File, error) {
	data, err := settings.Marshal(svc)
	if err != nil {
		return nil, err
	}
	return dag.Directory().WithNewFile("pipeline.yaml", string(data)).File("pipeline.yaml"), nil
}
