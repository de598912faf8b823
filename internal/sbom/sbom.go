// Package sbom derives an SPDX 2.3 JSON software bill of materials for an
// image from the Go build information embedded in the executables it
// contains (debug/buildinfo): one package per binary and platform, one per
// dependency module, and the Go standard library. The document model, its
// JSON encoding and its validation are spdx/tools-golang's.
package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
)

// Binary is a Go executable found in an image.
type Binary struct {
	Platform string
	Path     string
	Info     *debug.BuildInfo
}

// FromIndex builds the SBOM of every platform image of idx. name is the
// document name (the repository), created its creation time (the image's,
// so the same image always gives the same document).
func FromIndex(ctx context.Context, idx v1.ImageIndex, name string, created time.Time) ([]byte, error) {
	digest, err := idx.Digest()
	if err != nil {
		return nil, fmt.Errorf("sbom: index digest: %w", err)
	}
	bins, err := IndexBinaries(ctx, idx)
	if err != nil {
		return nil, err
	}
	doc := Build(bins, name, digest.String(), created)
	if err := Validate(doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf, spdxjson.Indent("  ")); err != nil {
		return nil, fmt.Errorf("sbom: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// IndexBinaries returns the Go executables of every platform image of idx;
// none is an error.
func IndexBinaries(ctx context.Context, idx v1.ImageIndex) ([]Binary, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("sbom: index manifest: %w", err)
	}
	var bins []Binary
	for _, desc := range im.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		if !desc.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("sbom: image %s: %w", desc.Digest, err)
		}
		platform := "unknown"
		if desc.Platform != nil {
			platform = desc.Platform.String()
		}
		found, err := Binaries(img, platform)
		if err != nil {
			return nil, err
		}
		bins = append(bins, found...)
	}
	if len(bins) == 0 {
		return nil, errors.New("sbom: the image contains no Go executable with build information (build with a Go toolchain, not stripped of buildinfo)")
	}
	return bins, nil
}

// Parse reads an SPDX JSON document (any 2.x version; converted to 2.3)
// and validates it.
func Parse(data []byte) (*spdx.Document, error) {
	doc, err := spdxjson.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("sbom: not an SPDX JSON document: %w", err)
	}
	if err := Validate(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// Validate checks doc with spdx/tools-golang's validator (every element a
// relationship names exists) and that it has the header fields SPDX 2.3
// requires and describes at least one package.
func Validate(doc *spdx.Document) error {
	switch {
	case doc == nil:
		return errors.New("sbom: no document")
	case doc.SPDXVersion != spdx.Version || doc.DataLicense != spdx.DataLicense:
		return fmt.Errorf("sbom: version %q, data license %q: want %s, %s", doc.SPDXVersion, doc.DataLicense, spdx.Version, spdx.DataLicense)
	case doc.SPDXIdentifier != "DOCUMENT" || doc.DocumentName == "" || doc.DocumentNamespace == "":
		return errors.New("sbom: the document lacks its SPDXID, name or namespace")
	case doc.CreationInfo == nil || doc.CreationInfo.Created == "" || len(doc.CreationInfo.Creators) == 0:
		return errors.New("sbom: the document lacks its creation info")
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return fmt.Errorf("sbom: invalid SPDX document: %w", err)
	}
	described, err := spdxlib.GetDescribedPackageIDs(doc)
	if err != nil {
		return fmt.Errorf("sbom: invalid SPDX document: %w", err)
	}
	if len(described) == 0 {
		return errors.New("sbom: the document describes no package")
	}
	return nil
}

// Binaries returns the Go executables in img's layers.
func Binaries(img v1.Image, platform string) ([]Binary, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("sbom: layers of %s image: %w", platform, err)
	}
	var out []Binary
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, fmt.Errorf("sbom: layer media type: %w", err)
		}
		if mt != types.OCILayer && mt != types.DockerLayer && mt != types.OCIUncompressedLayer {
			continue
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("sbom: open layer of %s image: %w", platform, err)
		}
		found, err := scanTar(rc, platform)
		_ = rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// maxBinary bounds how much of one file is read to look for build info.
const maxBinary = 512 << 20

func scanTar(r io.Reader, platform string) ([]Binary, error) {
	tr := tar.NewReader(r)
	var out []Binary
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sbom: read layer of %s image: %w", platform, err)
		}
		if h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 || h.Size < 4 || h.Size > maxBinary {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxBinary))
		if err != nil {
			return nil, fmt.Errorf("sbom: read %s in %s image: %w", h.Name, platform, err)
		}
		info, err := buildinfo.Read(bytes.NewReader(data))
		if err != nil {
			continue // not a Go executable
		}
		out = append(out, Binary{Platform: platform, Path: "/" + strings.TrimPrefix(h.Name, "/"), Info: info})
	}
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// spdxID is an SPDX element id (without the "SPDXRef-" prefix, which the
// encoder adds): letters, digits, '.' and '-' only.
func spdxID(parts ...string) common.ElementID {
	return common.ElementID(strings.Trim(unsafeID.ReplaceAllString(strings.Join(parts, "-"), "-"), "-"))
}

func purl(module, version string) string {
	if version == "" || version == "(devel)" {
		return "pkg:golang/" + module
	}
	return "pkg:golang/" + module + "@" + version
}

func purlRef(module, version string) []*spdx.PackageExternalReference {
	return []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl(module, version)}}
}

func rel(a, b common.ElementID, typ string) *spdx.Relationship {
	return &spdx.Relationship{RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(b)), Relationship: typ}
}

// Build assembles the SPDX document for the binaries.
func Build(bins []Binary, name, digest string, created time.Time) *spdx.Document {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      name + "@" + digest,
		DocumentNamespace: "https://github.com/go-aks/pipeline/spdx/" + strings.ReplaceAll(name, "/", "-") + "/" + digest,
		CreationInfo: &spdx.CreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "go-aks-pipeline-release"}},
		},
	}
	seen := map[common.ElementID]bool{}
	add := func(p *spdx.Package) {
		if !seen[p.PackageSPDXIdentifier] {
			seen[p.PackageSPDXIdentifier] = true
			doc.Packages = append(doc.Packages, p)
		}
	}
	for _, b := range bins {
		main := b.Info.Main
		binID := spdxID("Binary", b.Platform, b.Path)
		var settings []string
		for _, s := range b.Info.Settings {
			if s.Key == "GOOS" || s.Key == "GOARCH" || s.Key == "CGO_ENABLED" || s.Key == "vcs.revision" || s.Key == "-trimpath" {
				settings = append(settings, s.Key+"="+s.Value)
			}
		}
		add(&spdx.Package{
			PackageSPDXIdentifier:     binID,
			PackageName:               b.Path,
			PackageVersion:            main.Version,
			PackageDownloadLocation:   "NOASSERTION",
			PrimaryPackagePurpose:     "APPLICATION",
			PackageExternalReferences: purlRef(b.Info.Path, main.Version),
			PackageComment:            "platform " + b.Platform + "; main package " + b.Info.Path + "; module " + main.Path + "; " + strings.Join(settings, " "),
		})
		doc.Relationships = append(doc.Relationships, rel("DOCUMENT", binID, common.TypeRelationshipDescribe))

		stdID := spdxID("Module", "stdlib", b.Info.GoVersion)
		add(&spdx.Package{
			PackageSPDXIdentifier: stdID, PackageName: "stdlib", PackageVersion: b.Info.GoVersion, PackageDownloadLocation: "https://go.dev/dl/",
			PackageExternalReferences: purlRef("stdlib", b.Info.GoVersion),
		})
		doc.Relationships = append(doc.Relationships, rel(binID, stdID, common.TypeRelationshipDependsOn))

		for _, dep := range b.Info.Deps {
			m := dep
			if dep.Replace != nil {
				m = dep.Replace
			}
			id := spdxID("Module", m.Path, m.Version)
			p := &spdx.Package{
				PackageSPDXIdentifier: id, PackageName: m.Path, PackageVersion: m.Version, PackageDownloadLocation: "NOASSERTION",
				PackageExternalReferences: purlRef(m.Path, m.Version),
			}
			if sum, ok := strings.CutPrefix(m.Sum, "h1:"); ok {
				p.PackageComment = "go.sum h1:" + sum
			}
			add(p)
			doc.Relationships = append(doc.Relationships, rel(binID, id, common.TypeRelationshipDependsOn))
		}
	}
	slices.SortStableFunc(doc.Packages, func(a, b *spdx.Package) int {
		return strings.Compare(string(a.PackageSPDXIdentifier), string(b.PackageSPDXIdentifier))
	})
	return doc
}
