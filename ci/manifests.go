package main

import (
	"fmt"
	"path"
	"strings"

	"dagger/pipeline/internal/dagger"
	"dagger/pipeline/settings"
)

// deployDir is where the deploy container gets the manifests.
const deployDir = "/work/manifests"

// deployTree is the manifests directory handed to `deploy apply`, which
// renders overlays/ENVIRONMENT of it.
type deployTree struct {
	dir *dagger.Directory
	// prefix is where the service's manifests are inside dir ("" when dir is them).
	prefix string
}

// components maps component paths inside the service's manifests to paths inside the tree.
func (t deployTree) components(cs []string) []string {
	if t.prefix == "" {
		return cs
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = path.Join(t.prefix, c)
	}
	return out
}

// deployManifests returns the tree `deploy apply` renders for environment.
// With the conventional layout (the overlay at overlays/ENVIRONMENT) that is
// the service's manifests directory itself. Otherwise the service's
// manifests go under service/ and overlays/ENVIRONMENT is a kustomization
// that only includes the service's overlay, so any layout deploys without a
// change to cmd/deploy.
func deployManifests(manifests *dagger.Directory, svc settings.Service, environment string) (deployTree, error) {
	if _, err := svc.Overlay("environment", environment); err != nil {
		return deployTree{}, err
	}
	rel := path.Clean(svc.Overlays[environment])
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return deployTree{}, fmt.Errorf("overlay %q of environment %s is not inside the manifests directory %q", svc.Overlays[environment], environment, svc.Manifests)
	}
	if rel == "overlays/"+environment {
		return deployTree{dir: manifests}, nil
	}
	const prefix = "service"
	kustomization := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../%s/%s\n", prefix, rel)
	return deployTree{
		dir: dag.Directory().
			WithDirectory(prefix, manifests).
			WithNewFile("overlays/"+environment+"/kustomization.yaml", kustomization),
		prefix: prefix,
	}, nil
}
