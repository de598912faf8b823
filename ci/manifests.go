package main

import (
	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/internal/stagefiles"
	"dagger/pipeline/settings"
)

// deployDir is where the deploy container gets the manifests.
const deployDir = "/work/manifests"

// deployTree is the manifests directory handed to `deploy apply`, which
// renders overlays/ENVIRONMENT of it.
type deployTree struct {
	dir *dagger.Directory
	stagefiles.DeployTree
}

// components maps component paths inside the service's manifests to paths inside the tree.
func (t deployTree) components(cs []string) []string { return t.Components(cs) }

// deployManifests returns the tree `deploy apply` renders for environment
// (see stagefiles.Deploy): the service's manifests themselves for the
// conventional layout, else the manifests under service/ with a generated
// overlays/ENVIRONMENT that includes the service's overlay.
func deployManifests(manifests *dagger.Directory, svc settings.Service, environment string) (deployTree, error) {
	t, err := stagefiles.Deploy(svc, environment)
	if err != nil {
		return deployTree{}, err
	}
	if t.Prefix == "" {
		return deployTree{dir: manifests, DeployTree: t}, nil
	}
	return deployTree{
		dir: dag.Directory().
			WithDirectory(t.Prefix, manifests).
			WithNewFile("overlays/"+environment+"/kustomization.yaml", t.Kustomization),
		DeployTree: t,
	}, nil
}
