package rehearsal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"dagger/pipeline/cmdline"

	"github.com/go-aks/pipeline/internal/imagebuild"
)

// Fault is a defect injected into a build of the service, to rehearse where
// the release path must stop. The service's own code is compiled with one
// change applied through go build -overlay; the repository is not touched.
type Fault string

const (
	// NoFault builds the service as it is.
	NoFault Fault = ""
	// FaultAcceptance makes POST /v1/orders answer 200 OK instead of
	// 201 Created: the service is healthy and ready, and the acceptance
	// suite fails.
	FaultAcceptance Fault = "acceptance"
	// FaultProductionCrash makes the service exit at start when its
	// database is the production one (DB_NAME ending in "production"): it
	// passes staging and acceptance, and its production rollout fails.
	FaultProductionCrash Fault = "production-crash"
)

// Faults lists the faults cmd/rehearse offers.
var Faults = []Fault{FaultAcceptance, FaultProductionCrash, FaultProductionErrors}

// ParseFault parses a fault name ("" or "none" for NoFault).
func ParseFault(s string) (Fault, error) {
	if s == "" || s == "none" {
		return NoFault, nil
	}
	for _, f := range Faults {
		if string(f) == s {
			return f, nil
		}
	}
	return NoFault, fmt.Errorf("fault %q is not one of none, %s, %s, %s", s, FaultAcceptance, FaultProductionCrash, FaultProductionErrors)
}

// BuildOptions vary a build.
type BuildOptions struct {
	// Fault injected into the service; NoFault by default.
	Fault Fault
	// Created overrides the image's creation time (RFC 3339): the same
	// binaries with another creation time give another digest.
	Created string
}

// Image is an assembled image: an OCI layout and its index digest.
type Image struct {
	Layout string
	Digest string
}

// Build compiles the service's main package (settings main, in its Go
// module directory) for each of its platforms the way the module's build
// does (ci/cmdline GoBuild), then assembles the multi-platform image with
// `release image` (ci/cmdline ImageArgs). Stage "build".
func (r *Rehearsal) Build(ctx context.Context, svc *Service, o BuildOptions) (Image, error) {
	var img Image
	name := "build"
	if o.Fault != NoFault {
		name += " (fault: " + string(o.Fault) + ")"
	}
	_, err := r.record(svc, name, func(s *Stage) error {
		dir, err := os.MkdirTemp(r.dir, "image-")
		if err != nil {
			return fmt.Errorf("create build directory: %w", err)
		}
		var overlay string
		if o.Fault != NoFault {
			if overlay, err = r.faultOverlay(svc, o.Fault, dir); err != nil {
				return err
			}
		}
		platforms := r.opts.Platforms
		if len(platforms) == 0 {
			platforms = svc.Settings.Platforms
		}
		if err := checkNodePlatform(platforms); err != nil {
			return fmt.Errorf("service %s: %w", svc.Name(), err)
		}
		platforms = append([]string(nil), platforms...)
		sort.Strings(platforms)
		bins := map[string]string{}
		for _, ps := range platforms {
			p, err := cmdline.ParsePlatform("platform", ps)
			if err != nil {
				return err
			}
			out := filepath.Join(dir, "bins", p.OS+"_"+p.Arch, svc.Name())
			envMap, args, err := cmdline.GoBuild(p, svc.Settings.Main, out)
			if err != nil {
				return err
			}
			if overlay != "" {
				args = append([]string{args[0], args[1], "-overlay", overlay}, args[2:]...)
			}
			if _, err := r.execIn(ctx, svc.ModuleDir(), "build", goEnv(envMap), args[0], args[1:]...); err != nil {
				return fmt.Errorf("go build %s: %w", p, err)
			}
			bins[p.String()] = out
		}
		created := r.opts.Created
		if o.Created != "" {
			created = o.Created
		}
		img.Layout = filepath.Join(dir, "layout")
		args, err := cmdline.ImageArgs(r.release, svc.Name(), bins,
			cmdline.BuildInfo{SourceURL: r.opts.SourceURL, Revision: r.opts.Revision, Created: created}, img.Layout)
		if err != nil {
			return err
		}
		if _, err := r.exec(ctx, "build", commandEnv(), args[0], args[1:]...); err != nil {
			return err
		}
		idx, err := imagebuild.ReadLayout(img.Layout)
		if err != nil {
			return fmt.Errorf("read the image layout: %w", err)
		}
		d, err := idx.Digest()
		if err != nil {
			return fmt.Errorf("image digest: %w", err)
		}
		img.Digest = d.String()
		s.Digest = img.Digest
		s.Detail = strings.Join(platforms, ", ")
		return nil
	})
	return img, err
}

// faultOverlay writes a go build -overlay file injecting f into the
// service's source as it is now in the repository.
//
// The faults are the orders service's: FaultAcceptance changes its
// internal/httpapi/httpapi.go, FaultProductionCrash adds a file to its main
// package that reacts to its production database name. For a service that
// lacks the file the fault changes, it fails saying so.
func (r *Rehearsal) faultOverlay(svc *Service, f Fault, dir string) (string, error) {
	replace := map[string]string{}
	var err error
	switch f {
	case FaultAcceptance:
		path := filepath.Join(svc.ModuleDir(), "internal", "httpapi", "httpapi.go")
		src, err := os.ReadFile(filepath.Clean(path))
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("fault %s changes the orders service's internal/httpapi/httpapi.go; service %s has no %s", f, svc.Name(), path)
		}
		if err != nil {
			return "", fmt.Errorf("fault %s: %w", f, err)
		}
		const from, to = "writeJSON(w, http.StatusCreated, o)", "writeJSON(w, http.StatusOK, o)"
		if strings.Count(string(src), from) != 1 {
			return "", fmt.Errorf("fault %s: %s no longer holds exactly one %q to change; update rehearsal.faultOverlay", f, path, from)
		}
		alt := filepath.Clean(filepath.Join(dir, "httpapi.go"))
		if err := os.WriteFile(alt, []byte(strings.Replace(string(src), from, to, 1)), 0o600); err != nil { //nolint:gosec // alt is in our own temporary directory
			return "", fmt.Errorf("fault %s: %w", f, err)
		}
		replace[path] = alt
	case FaultProductionCrash:
		mainDir := filepath.Join(svc.ModuleDir(), filepath.FromSlash(svc.Settings.Main))
		if _, err := os.Stat(filepath.Join(mainDir, "main.go")); err != nil {
			return "", fmt.Errorf("fault %s adds a file to the main package of service %s, whose %s has no main.go: %w", f, svc.Name(), mainDir, err)
		}
		path := filepath.Join(mainDir, "zz_rehearsal_fault.go")
		alt := filepath.Join(dir, "fault.go")
		src := `package main

import (
	"fmt"
	"os"
	"strings"
)

// Injected by the release rehearsal: a defect that shows only with the
// production configuration.
func init() {
	if strings.HasSuffix(os.Getenv("DB_NAME"), "production") {
		fmt.Fprintln(os.Stderr, "rehearsal fault: exiting at start with the production database")
		os.Exit(3)
	}
}
`
		if err := os.WriteFile(alt, []byte(src), 0o600); err != nil {
			return "", fmt.Errorf("fault %s: %w", f, err)
		}
		replace[path] = alt
	case FaultProductionErrors:
		if replace, err = ProductionErrorsOverlay(svc.ModuleDir(), dir, false); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("unknown fault %q", f)
	}
	data, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return "", fmt.Errorf("fault %s: %w", f, err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, data, 0o600); err != nil {
		return "", fmt.Errorf("fault %s: %w", f, err)
	}
	return overlay, nil
}

// StopStage is the stage where the release path must stop for a fault.
func StopStage(f Fault) string {
	switch f {
	case FaultAcceptance:
		return "acceptance staging"
	case FaultProductionCrash, FaultProductionErrors:
		return "deploy production"
	}
	return ""
}
