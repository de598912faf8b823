package rehearsal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/settings"
)

// Service is a service the rehearsal releases, described only by its
// settings (ci/settings, as the Dagger module reads them): its Go module,
// main package, binary, platforms, manifests and acceptance suite. Its
// registry repository and its Kubernetes Deployment, Service and container
// are named after its binary (app.kubernetes.io/name=BINARY).
type Service struct {
	// Dir is the service's source root (absolute): where its pipeline.yaml is.
	Dir string
	// SettingsFile is Dir/pipeline.yaml, or empty when the service has none.
	SettingsFile string
	// Settings are the resolved settings.
	Settings settings.Service
}

// LoadService reads the service at dir: its pipeline.yaml if present
// (settings.Parse), defaults and validation (settings.Resolve) with the
// module path of its go.mod.
func LoadService(dir string) (*Service, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", dir, err)
	}
	svc := &Service{Dir: abs}
	var s settings.Service
	file := filepath.Join(abs, settings.FileName)
	data, err := os.ReadFile(filepath.Clean(file))
	switch {
	case err == nil:
		if s, err = settings.Parse(data); err != nil {
			return nil, fmt.Errorf("service %s: %w", abs, err)
		}
		svc.SettingsFile = file
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, fmt.Errorf("service %s: %w", abs, err)
	}
	s = s.Merge(settings.Service{})
	mod := s.Module
	if mod == "" {
		mod = "."
	}
	gomod := filepath.Join(abs, filepath.FromSlash(mod), "go.mod")
	data, err = os.ReadFile(filepath.Clean(gomod))
	if err != nil {
		return nil, fmt.Errorf("service %s: read its go.mod (%s module): %w", abs, settings.FileName, err)
	}
	path := modfile.ModulePath(data)
	if path == "" {
		return nil, fmt.Errorf("service %s: %s has no module line", abs, gomod)
	}
	if svc.Settings, err = s.Resolve(path); err != nil {
		return nil, fmt.Errorf("service %s: %w", abs, err)
	}
	return svc, nil
}

// Name is the service's name: its binary's, also its registry repository
// and its Kubernetes objects' name.
func (s *Service) Name() string { return s.Settings.Binary }

// ModuleDir is the directory of the service's go.mod.
func (s *Service) ModuleDir() string {
	return filepath.Join(s.Dir, filepath.FromSlash(s.Settings.Module))
}

// ManifestsDir is the service's kustomize directory.
func (s *Service) ManifestsDir() string {
	return filepath.Join(s.Dir, filepath.FromSlash(s.Settings.Manifests))
}
