package main

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/settings"
)

// credentialPatterns are files that look like credentials. They are in the
// source argument's +ignore, and filtered again from every directory a stage
// sees, because +ignore is not applied to a Directory another module passes.
var credentialPatterns = []string{"**/*.key", "**/*.pem", "**/*kubeconfig*", "**/.env", "**/.env.*"}

// notForGoStages are paths no Go stage reads: documentation, CI definitions,
// Dagger modules, the settings file (stages get the resolved settings). A
// change to them re-runs no test stage.
var notForGoStages = []string{
	".git", "out", "**/*.md", "docs", ".github", ".azure-pipelines", "azure-pipelines.yml",
	"dagger.json", ".dagger", "**/dagger.json",
}

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

// goSource returns the part of the service's source a Go stage sees: its Go
// module directory and the directories its go.mod replaces with local paths,
// plus the lint configuration (lint) or the vulnerability allow-list (vuln);
// never documentation, CI definitions, manifests or credentials.
func (m *Pipeline) goSource(svc settings.Service, gomod *modfile.File, st stage) (*dagger.Directory, error) {
	var include []string
	if svc.Module != "." {
		include = append(include, svc.Module+"/")
		for _, r := range gomod.Replace {
			if r.New.Version != "" || !modfile.IsDirectoryPath(r.New.Path) {
				continue
			}
			dir := path.Clean(path.Join(svc.Module, r.New.Path))
			if dir == ".." || strings.HasPrefix(dir, "../") || path.IsAbs(r.New.Path) {
				return nil, fmt.Errorf("%s/go.mod replaces %s with %s, outside the source: the pipeline sees only the source directory", svc.Module, r.Old.Path, r.New.Path)
			}
			if dir == "." {
				include = nil // the whole source
				break
			}
			include = append(include, dir+"/")
		}
	}
	if include != nil {
		switch {
		case st == stageLint && svc.Lint.Config != "":
			include = append(include, svc.Lint.Config)
		case st == stageVuln && svc.Vuln.Allow != "":
			include = append(include, svc.Vuln.Allow)
		}
	}
	exclude := append(append([]string{}, credentialPatterns...), notForGoStages...)
	if svc.Module == "." {
		// The manifests and the settings file are no Go stage's input.
		exclude = append(exclude, svc.Manifests, settings.FileName)
	}
	return m.Source.Filter(dagger.DirectoryFilterOpts{Include: include, Exclude: exclude}), nil
}

// manifestsSource returns the service's manifests directory alone, without
// credentials: all a deployment sees of the source.
func (m *Pipeline) manifestsSource(svc settings.Service) *dagger.Directory {
	return m.Source.Directory(svc.Manifests).Filter(dagger.DirectoryFilterOpts{Exclude: credentialPatterns})
}
