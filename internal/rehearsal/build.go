package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-aks/pipeline/internal/imagebuild"
)

// servicePackage and binaryName are the service and its name in the image,
// as in the Dagger module (ci/cmdline).
const (
	servicePackage = "./cmd/orders" // in serviceModule
	// serviceModule is the service's own Go module directory (go build -C).
	serviceModule = "app"
	binaryName    = "orders"
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
var Faults = []Fault{FaultAcceptance, FaultProductionCrash}

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
	return NoFault, fmt.Errorf("fault %q is not one of none, %s, %s", s, FaultAcceptance, FaultProductionCrash)
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

// Build compiles the service for each platform the way the module's build
// does (CGO_ENABLED=0 GOOS GOARCH GOFLAGS=-buildvcs=false go build -trimpath
// -ldflags="-s -w -buildid="), then assembles the multi-platform image with
// `release image`. Stage "build".
func (r *Rehearsal) Build(ctx context.Context, o BuildOptions) (Image, error) {
	var img Image
	name := "build"
	if o.Fault != NoFault {
		name = "build (fault: " + string(o.Fault) + ")"
	}
	_, err := r.record(name, func(s *Stage) error {
		dir, err := os.MkdirTemp(r.dir, "image-")
		if err != nil {
			return fmt.Errorf("create build directory: %w", err)
		}
		var buildFlags []string
		if o.Fault != NoFault {
			overlay, err := r.faultOverlay(o.Fault, dir)
			if err != nil {
				return err
			}
			buildFlags = append(buildFlags, "-overlay", overlay)
		}
		platforms := append([]string(nil), r.opts.Platforms...)
		sort.Strings(platforms)
		args := []string{"image"}
		for _, p := range platforms {
			osName, arch, ok := strings.Cut(p, "/")
			if !ok || osName != "linux" || (arch != "amd64" && arch != "arm64") {
				return fmt.Errorf("platform %q: the image is built for linux/amd64 and linux/arm64", p)
			}
			out := filepath.Join(dir, "bins", osName+"_"+arch, binaryName)
			goArgs := append([]string{"build", "-C", serviceModule, "-trimpath", "-ldflags=-s -w -buildid="}, buildFlags...)
			goArgs = append(goArgs, "-o", out, servicePackage)
			env := goEnv(map[string]string{"CGO_ENABLED": "0", "GOOS": osName, "GOARCH": arch, "GOFLAGS": "-buildvcs=false"})
			if _, err := r.exec(ctx, "build", env, "go", goArgs...); err != nil {
				return fmt.Errorf("go build %s: %w", p, err)
			}
			args = append(args, "--binary", p+"="+out)
		}
		created := r.opts.Created
		if o.Created != "" {
			created = o.Created
		}
		img.Layout = filepath.Join(dir, "layout")
		args = append(args, "--source", r.opts.SourceURL, "--revision", r.opts.Revision, "--created", created, "--out", img.Layout)
		if _, err := r.exec(ctx, "build", commandEnv(), r.release, args...); err != nil {
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
func (r *Rehearsal) faultOverlay(f Fault, dir string) (string, error) {
	replace := map[string]string{}
	switch f {
	case FaultAcceptance:
		path := filepath.Join(r.root, "app", "internal", "httpapi", "httpapi.go")
		src, err := os.ReadFile(filepath.Clean(path))
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
		path := filepath.Join(r.root, "app", "cmd", "orders", "zz_rehearsal_fault.go")
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
	case FaultProductionCrash:
		return "deploy production"
	}
	return ""
}
