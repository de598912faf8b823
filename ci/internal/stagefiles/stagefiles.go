// Package stagefiles decides which files of a service's source each stage of
// the pipeline sees, so that a change to documentation, CI definitions or the
// Dagger module re-runs no test, deploy sees only the manifests, and files
// that look like credentials are seen by none.
package stagefiles

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/settings"
)

// Credentials are files that look like credentials; no stage sees them.
var Credentials = []string{"**/*.key", "**/*.pem", "**/*kubeconfig*", "**/.env", "**/.env.*"}

// notForGo are paths no Go stage reads: documentation, CI definitions,
// Dagger modules. Stages get the resolved settings, not the settings file.
var notForGo = []string{
	".git", "out", "**/*.md", "docs", ".github", ".azure-pipelines", "azure-pipelines.yml",
	"dagger.json", ".dagger", "**/dagger.json",
}

// Extra is what a Go stage needs besides the Go module.
type Extra struct {
	// LintConfig is the lint configuration (the lint stage).
	LintConfig string
	// VulnAllow is the vulnerability allow-list (the vuln stage).
	VulnAllow string
}

// Patterns are a Directory.Filter's include and exclude lists; an empty
// Include means everything not excluded.
type Patterns struct {
	Include []string
	Exclude []string
}

// GoStage returns what a Go stage sees of the source: the service's Go
// module directory and the directories its go.mod replaces with local paths
// (plus extra), never documentation, CI definitions, Dagger modules or
// credentials, nor, for a module at the root, the manifests and the settings
// file. A local replacement outside the source is an error.
func GoStage(svc settings.Service, settingsFile string, gomod *modfile.File, extra Extra) (Patterns, error) {
	var include []string
	if svc.Module != "." {
		include = append(include, svc.Module+"/")
		for _, r := range gomod.Replace {
			if r.New.Version != "" || !modfile.IsDirectoryPath(r.New.Path) {
				continue
			}
			if path.IsAbs(r.New.Path) {
				return Patterns{}, fmt.Errorf("%s/go.mod replaces %s with the absolute path %s: the pipeline sees only the source; use a path inside it", svc.Module, r.Old.Path, r.New.Path)
			}
			dir := path.Clean(path.Join(svc.Module, r.New.Path))
			if dir == ".." || strings.HasPrefix(dir, "../") {
				return Patterns{}, fmt.Errorf("%s/go.mod replaces %s with %s, outside the source: the pipeline sees only the source", svc.Module, r.Old.Path, r.New.Path)
			}
			if dir == "." {
				include = nil // the whole source
				break
			}
			include = append(include, dir+"/")
		}
	}
	if include != nil {
		for _, f := range []string{extra.LintConfig, extra.VulnAllow} {
			if f != "" {
				include = append(include, f)
			}
		}
	}
	exclude := append(append([]string{}, Credentials...), notForGo...)
	if svc.Module == "." || include == nil {
		exclude = append(exclude, svc.Manifests, settingsFile)
	}
	return Patterns{Include: include, Exclude: exclude}, nil
}

// DeployTree says how the manifests directory handed to `deploy apply`
// (which renders overlays/ENVIRONMENT of it) is made from the service's
// manifests.
type DeployTree struct {
	// Prefix is where the service's manifests go inside the tree; empty
	// means the tree is the service's manifests directory itself.
	Prefix string
	// Kustomization is the generated overlays/ENVIRONMENT/kustomization.yaml
	// including the service's overlay (when Prefix is set).
	Kustomization string
}

// Deploy returns the tree for environment: the conventional layout
// (overlays/ENVIRONMENT) is used as it is; any other overlay is included by a
// generated overlays/ENVIRONMENT, so any layout deploys without a change to
// cmd/deploy.
func Deploy(svc settings.Service, environment string) (DeployTree, error) {
	if _, err := svc.Overlay("environment", environment); err != nil {
		return DeployTree{}, err
	}
	rel := path.Clean(svc.Overlays[environment])
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || path.IsAbs(rel) {
		return DeployTree{}, fmt.Errorf("overlay %q of environment %s is not inside the manifests directory %q", svc.Overlays[environment], environment, svc.Manifests)
	}
	if rel == "overlays/"+environment {
		return DeployTree{}, nil
	}
	const prefix = "service"
	return DeployTree{
		Prefix:        prefix,
		Kustomization: fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../%s/%s\n", prefix, rel),
	}, nil
}

// Components maps component paths inside the service's manifests to paths in the tree.
func (t DeployTree) Components(cs []string) []string {
	if t.Prefix == "" {
		return cs
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = path.Join(t.Prefix, c)
	}
	return out
}
