package main

import (
	"golang.org/x/mod/modfile"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/stagefiles"
	"dagger/pipeline/settings"
)

// credentialPatterns are files that look like credentials. They are in the
// source argument's +ignore, and filtered again from the source in the
// constructor and from every directory a stage sees, because +ignore is not
// applied to a Directory another module passes.
var credentialPatterns = stagefiles.Credentials

// stage names what a stage needs from the source.
type stage int

const (
	stageLint stage = iota
	stageVuln
	stageUnit
	stageIntegration
	stageAcceptance
	stageBuild
)

// goSource returns the part of the service's source a Go stage sees (see
// stagefiles.GoStage): its Go module directory and the directories its go.mod
// replaces with local paths, plus the lint configuration (lint) or the
// vulnerability allow-list (vuln); never documentation, CI definitions,
// Dagger modules or credentials.
func (m *Pipeline) goSource(svc settings.Service, gomod *modfile.File, st stage) (*dagger.Directory, error) {
	var extra stagefiles.Extra
	switch st {
	case stageLint:
		extra.LintConfig = svc.Lint.Config
	case stageVuln:
		extra.VulnAllow = svc.Vuln.Allow
	}
	file := m.SettingsFile
	if file == "" {
		file = settings.FileName
	}
	p, err := stagefiles.GoStage(svc, file, gomod, extra)
	if err != nil {
		return nil, err
	}
	return m.Source.Filter(dagger.DirectoryFilterOpts{Include: p.Include, Exclude: p.Exclude}), nil
}

// manifestsSource returns the service's manifests directory alone, without
// credentials: all a deployment sees of the source.
func (m *Pipeline) manifestsSource(svc settings.Service) *dagger.Directory {
	return m.Source.Directory(svc.Manifests).Filter(dagger.DirectoryFilterOpts{Exclude: credentialPatterns})
}
