// Package imagebuild assembles multi-platform OCI images from static
// binaries onto an empty base, deterministically: the same binaries and
// options always give the same index digest.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI label/annotation keys set on every image.
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelCreated  = "org.opencontainers.image.created"
)

// AppDir is the directory of the image holding the binary.
const AppDir = "/app"

// DefaultUser is the numeric non-root user the image runs as.
const DefaultUser = "65532:65532"

// Binary is one platform's executable.
type Binary struct {
	Platform v1.Platform
	// Path is the binary on the local file system.
	Path string
	// Name is the file name under /app; default: the base name of Path.
	Name string
}

// Options describe the image configuration shared by all platforms.
type Options struct {
	// Entrypoint defaults to ["/app/<name>"].
	Entrypoint []string
	// User defaults to DefaultUser.
	User string
	// Labels are added to the image configuration (and the index
	// annotations); Source, Revision and Created fill the OCI labels.
	Labels map[string]string
	// Created is the fixed creation time recorded in the configuration and
	// used as every file's modification time; zero means the Unix epoch.
	Created time.Time
	// WorkingDir defaults to "/".
	WorkingDir string
	// Env is the process environment, for example "TZ=UTC".
	Env []string
	// Source is the repository URL (org.opencontainers.image.source).
	Source string
	// Revision is the VCS revision (org.opencontainers.image.revision).
	Revision string
}

// Index builds an OCI image index with one image per binary. Each image has
// a single layer holding /app/<name> (mode 0755, owned by root, fixed
// modification time) on an empty base.
func Index(ctx context.Context, bins []Binary, opts Options) (v1.ImageIndex, error) {
	if len(bins) == 0 {
		return nil, fmt.Errorf("imagebuild: %w", ErrNoBinaries)
	}
	created := opts.Created.UTC().Truncate(time.Second)
	if opts.Created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	labels := maps.Clone(opts.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelCreated] = created.Format(time.RFC3339)
	if opts.Source != "" {
		labels[LabelSource] = opts.Source
	}
	if opts.Revision != "" {
		labels[LabelRevision] = opts.Revision
	}

	seen := map[string]bool{}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var adds []mutate.IndexAddendum
	for _, b := range bins {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("imagebuild: %w", err)
		}
		if b.Platform.OS == "" || b.Platform.Architecture == "" {
			return nil, fmt.Errorf("imagebuild: binary %s: %w", b.Path, ErrIncompletePlatform)
		}
		key := b.Platform.String()
		if seen[key] {
			return nil, fmt.Errorf("imagebuild: %s: %w", key, ErrDuplicatePlatform)
		}
		seen[key] = true
		img, err := image(b, opts, labels, created)
		if err != nil {
			return nil, err
		}
		p := b.Platform
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	// Order platforms so the same set of binaries gives the same index
	// whatever order they were given in.
	slices.SortFunc(adds, func(a, b mutate.IndexAddendum) int {
		return strings.Compare(a.Platform.String(), b.Platform.String())
	})
	idx = mutate.AppendManifests(idx, adds...)
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)
	// Compute now so that errors (unreadable layers) surface here.
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("imagebuild: compute index digest: %w", err)
	}
	return idx, nil
}

func image(b Binary, opts Options, labels map[string]string, created time.Time) (v1.Image, error) {
	name := b.Name
	if name == "" {
		name = filepath.Base(b.Path)
	}
	if name == "" || name == "." || name == "/" || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("imagebuild: binary %s: %w %q", b.Path, ErrInvalidName, name)
	}
	data, err := os.ReadFile(filepath.Clean(b.Path))
	if err != nil {
		return nil, fmt.Errorf("imagebuild: read binary for %s: %w", b.Platform.String(), err)
	}
	layerBytes, err := layerTarGz(path.Join(AppDir, name), data, created)
	if err != nil {
		return nil, fmt.Errorf("imagebuild: layer for %s: %w", b.Platform.String(), err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("imagebuild: layer for %s: %w", b.Platform.String(), err)
	}

	entrypoint := opts.Entrypoint
	if len(entrypoint) == 0 {
		entrypoint = []string{path.Join(AppDir, name)}
	}
	user := opts.User
	if user == "" {
		user = DefaultUser
	}
	workdir := opts.WorkingDir
	if workdir == "" {
		workdir = "/"
	}
	cfg := &v1.ConfigFile{
		Architecture: b.Platform.Architecture,
		OS:           b.Platform.OS,
		OSVersion:    b.Platform.OSVersion,
		Variant:      b.Platform.Variant,
		OSFeatures:   b.Platform.OSFeatures,
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Entrypoint: slices.Clone(entrypoint),
			User:       user,
			Labels:     maps.Clone(labels),
			WorkingDir: workdir,
			Env:        slices.Clone(opts.Env),
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("imagebuild: config for %s: %w", b.Platform.String(), err)
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "imagebuild: COPY " + name + " " + AppDir + "/",
		},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, fmt.Errorf("imagebuild: add layer for %s: %w", b.Platform.String(), err)
	}
	return img, nil
}

// layerTarGz returns a gzip-compressed tar holding the parent directories of
// file and the file itself, with fixed owners, modes and times. Go's gzip
// writer is deterministic and writes no timestamp or name header.
func layerTarGz(file string, data []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	rel := strings.TrimPrefix(file, "/")
	var dirs []string
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir,
			Name:     d + "/",
			Mode:     0o755,
			ModTime:  mtime,
		}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     rel,
		Mode:     0o755,
		Size:     int64(len(data)),
		ModTime:  mtime,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
