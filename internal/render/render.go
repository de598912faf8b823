// Package render turns the kustomize overlay of one environment into the
// Kubernetes objects to apply, with the service's image pinned to a digest.
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"dagger/pipeline/imageref"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// ImageName is the placeholder image name the base manifests use for the
// service's container; rendering replaces it with the pinned reference.
const ImageName = "orders"

// Options selects what to render.
type Options struct {
	// Dir is the manifests directory holding base/ and overlays/.
	Dir string
	// Environment names the overlay: overlays/<Environment>.
	Environment string
	// Image is the service image, REGISTRY/REPO@sha256:<64 hex>; a tag is refused.
	Image string
	// Components are extra kustomize components, paths relative to Dir
	// (for example "components/db-password-from-secret").
	Components []string
	// Namespace, when set, replaces the overlay's namespace.
	Namespace string
}

var envName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Result is a rendered environment.
type Result struct {
	// Objects are the rendered objects in kustomize's output order.
	Objects []*unstructured.Unstructured
	// YAML is the multi-document YAML of Objects.
	YAML []byte
	// Image is the normalised digest reference that was pinned.
	Image string
}

// ParseImage checks that ref names an image by digest (the pipeline's one
// parser, imageref.Digest: a tag, or a tag beside the digest, is refused).
func ParseImage(ref string) (name.Digest, error) {
	return imageref.Digest("--image", ref)
}

// Render renders the environment's overlay with the image pinned to its digest.
func Render(ctx context.Context, opts Options) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, err := ParseImage(opts.Image)
	if err != nil {
		return nil, err
	}
	if !envName.MatchString(opts.Environment) {
		return nil, fmt.Errorf("--environment %q is not a valid overlay name (for example staging or production)", opts.Environment)
	}
	if opts.Dir == "" {
		return nil, errors.New("--manifests is required: the directory holding base/ and overlays/")
	}
	overlay := filepath.Join(opts.Dir, "overlays", opts.Environment)
	if st, err := os.Stat(filepath.Join(overlay, "kustomization.yaml")); err != nil || st.IsDir() {
		return nil, fmt.Errorf("--environment %q: no overlay at %s (want %s/kustomization.yaml)", opts.Environment, overlay, overlay)
	}

	// Copy the manifests into memory and put a generated kustomization on
	// top of the overlay: nothing on disk is modified.
	mem := filesys.MakeFsInMemory()
	if err := copyTree(opts.Dir, mem); err != nil {
		return nil, err
	}
	top := types.Kustomization{
		TypeMeta:   types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
		Resources:  []string{"../overlays/" + opts.Environment},
		Namespace:  opts.Namespace,
		Components: nil,
		Images: []types.Image{{
			Name:    ImageName,
			NewName: img.Context().Name(),
			Digest:  img.DigestStr(),
		}},
	}
	for _, c := range opts.Components {
		clean := path.Clean(filepath.ToSlash(c))
		if strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("--component %q must be a path inside --manifests", c)
		}
		if _, err := os.Stat(filepath.Join(opts.Dir, filepath.FromSlash(clean), "kustomization.yaml")); err != nil {
			return nil, fmt.Errorf("--component %q: no kustomization.yaml in %s", c, filepath.Join(opts.Dir, clean))
		}
		top.Components = append(top.Components, "../"+clean)
	}
	data, err := yaml.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("render: write generated kustomization: %w", err)
	}
	const topDir = "/manifests/.render"
	if err := mem.MkdirAll(topDir); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := mem.WriteFile(topDir+"/kustomization.yaml", data); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}

	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(mem, topDir)
	if err != nil {
		return nil, fmt.Errorf("render overlay %s: %w", opts.Environment, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("render overlay %s: %w", opts.Environment, err)
	}
	objs, err := Decode(out)
	if err != nil {
		return nil, err
	}
	if pinned := pinPlaceholders(objs, img.Context().Name()+"@"+img.DigestStr()); pinned {
		if out, err = encode(objs); err != nil {
			return nil, fmt.Errorf("render overlay %s: %w", opts.Environment, err)
		}
	}
	if err := checkImagesPinned(objs); err != nil {
		return nil, fmt.Errorf("render overlay %s: %w", opts.Environment, err)
	}
	return &Result{Objects: objs, YAML: out, Image: img.Context().Name() + "@" + img.DigestStr()}, nil
}

// Decode splits multi-document YAML into objects.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("decode rendered document %d: %w", i, err)
		}
		if s := bytes.TrimSpace(js); bytes.Equal(s, []byte("null")) || bytes.Equal(s, []byte("{}")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("decode rendered document %d: %w", i, err)
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("decode rendered document %d: missing apiVersion, kind or metadata.name", i)
		}
		objs = append(objs, u)
	}
	if len(objs) == 0 {
		return nil, errors.New("rendered manifests are empty")
	}
	return objs, nil
}

// pinPlaceholders pins the image of every pod-template container whose
// image is a bare placeholder equal to the container's name (a service's
// container "greeter" with image "greeter"), so any service's manifests work,
// not only those using ImageName. It reports whether it changed anything.
func pinPlaceholders(objs []*unstructured.Unstructured, ref string) bool {
	changed := false
	for _, o := range objs {
		for _, p := range podSpecPaths(o.GetKind()) {
			for _, field := range []string{"containers", "initContainers"} {
				list, found, _ := unstructured.NestedSlice(o.Object, append(p, field)...)
				if !found {
					continue
				}
				touched := false
				for i, c := range list {
					cm, _ := c.(map[string]any)
					image, _ := cm["image"].(string)
					if image != "" && image == cm["name"] && !strings.ContainsAny(image, "/:@") {
						cm["image"] = ref
						list[i], touched = cm, true
					}
				}
				if touched {
					_ = unstructured.SetNestedSlice(o.Object, list, append(p, field)...)
					changed = true
				}
			}
		}
	}
	return changed
}

// encode writes objects as multi-document YAML.
func encode(objs []*unstructured.Unstructured) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("encode %s/%s: %w", o.GetKind(), o.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// checkImagesPinned refuses any container image in a pod template that is
// not pinned to a digest (including a placeholder left unreplaced).
func checkImagesPinned(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		for _, p := range podSpecPaths(o.GetKind()) {
			for _, field := range []string{"containers", "initContainers", "ephemeralContainers"} {
				list, _, _ := unstructured.NestedSlice(o.Object, append(p, field)...)
				for _, c := range list {
					cm, _ := c.(map[string]any)
					image, _ := cm["image"].(string)
					if _, err := name.NewDigest(image, name.StrictValidation); err != nil {
						return fmt.Errorf("%s/%s container %v: image %q is not pinned to a digest", o.GetKind(), o.GetName(), cm["name"], image)
					}
				}
			}
		}
	}
	return nil
}

func podSpecPaths(kind string) [][]string {
	switch kind {
	case "Pod":
		return [][]string{{"spec"}}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		return [][]string{{"spec", "template", "spec"}}
	case "CronJob":
		return [][]string{{"spec", "jobTemplate", "spec", "template", "spec"}}
	}
	return nil
}

// copyTree copies the YAML files of dir into the in-memory fs under /manifests.
func copyTree(dir string, mem filesys.FileSystem) error {
	root := filepath.Clean(dir)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read --manifests %s: %w", dir, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		target := path.Join("/manifests", filepath.ToSlash(rel))
		if d.IsDir() {
			return mem.MkdirAll(target)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p) //nolint:gosec // walking the manifests directory the caller named
		if err != nil {
			return fmt.Errorf("read --manifests %s: %w", dir, err)
		}
		return mem.WriteFile(target, data)
	})
}
