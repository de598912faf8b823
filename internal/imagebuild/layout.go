package imagebuild

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// annotationRefName is the OCI layout annotation naming an entry.
const annotationRefName = "org.opencontainers.image.ref.name"

// WriteLayout writes idx as the single entry of a new OCI image layout at
// dir (refName, when set, becomes its org.opencontainers.image.ref.name).
// dir must not exist or be empty; the layout is assembled next to it and
// renamed into place, so a failure leaves no half-written layout.
func WriteLayout(dir string, idx v1.ImageIndex, refName string) error {
	dir = filepath.Clean(dir)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out %s exists and is not empty: pass a new directory", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temporary layout directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	p, err := layout.Write(tmp, empty.Index)
	if err != nil {
		return fmt.Errorf("initialise OCI layout: %w", err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{annotationRefName: refName}))
	}
	if err := p.AppendIndex(idx, opts...); err != nil {
		return fmt.Errorf("write image index to OCI layout: %w", err)
	}
	_ = os.Remove(dir) // an empty directory given as --out
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move OCI layout into %s: %w", dir, err)
	}
	return nil
}

// ReadLayout returns the single image index of an OCI layout written by
// WriteLayout.
func ReadLayout(dir string) (v1.ImageIndex, error) {
	p, err := layout.FromPath(filepath.Clean(dir))
	if err != nil {
		return nil, fmt.Errorf("--layout %s is not an OCI image layout (write one with `release image`): %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("--layout %s: read index.json: %w", dir, err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("--layout %s: read index.json: %w", dir, err)
	}
	if len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsIndex() {
		return nil, fmt.Errorf("--layout %s: want exactly one image index in index.json, found %d entries", dir, len(im.Manifests))
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("--layout %s: open image index %s: %w", dir, im.Manifests[0].Digest, err)
	}
	return idx, nil
}
