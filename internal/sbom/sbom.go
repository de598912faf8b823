// Package sbom derives an SPDX 2.3 JSON software bill of materials for an
// image from the Go build information embedded in the executables it
// contains (debug/buildinfo): one package per binary and platform, one per
// dependency module, and the Go standard library.
package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
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
)

// Document is the subset of SPDX 2.3 we produce.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []Package      `json:"packages"`
	Relationships     []Relationship `json:"relationships"`
}

// CreationInfo says when and by what the document was made.
type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

// Package is an SPDX package.
type Package struct {
	SPDXID                string        `json:"SPDXID"`
	Name                  string        `json:"name"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
	Checksums             []Checksum    `json:"checksums,omitempty"`
	ExternalRefs          []ExternalRef `json:"externalRefs,omitempty"`
	Comment               string        `json:"comment,omitempty"`
}

// Checksum of a package.
type Checksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

// ExternalRef is a package URL reference.
type ExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// Relationship links two SPDX elements.
type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

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
	doc := Build(bins, name, digest.String(), created)
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sbom: encode: %w", err)
	}
	return out, nil
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

func spdxID(parts ...string) string {
	return "SPDXRef-" + strings.Trim(unsafeID.ReplaceAllString(strings.Join(parts, "-"), "-"), "-")
}

func purl(module, version string) string {
	if version == "" || version == "(devel)" {
		return "pkg:golang/" + module
	}
	return "pkg:golang/" + module + "@" + version
}

// Build assembles the SPDX document for the binaries.
func Build(bins []Binary, name, digest string, created time.Time) Document {
	doc := Document{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              name + "@" + digest,
		DocumentNamespace: "https://github.com/go-aks/pipeline/spdx/" + strings.ReplaceAll(name, "/", "-") + "/" + digest,
		CreationInfo: CreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: go-aks-pipeline-release"},
		},
	}
	seen := map[string]bool{}
	add := func(p Package) {
		if !seen[p.SPDXID] {
			seen[p.SPDXID] = true
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
		add(Package{
			SPDXID:                binID,
			Name:                  b.Path,
			VersionInfo:           main.Version,
			DownloadLocation:      "NOASSERTION",
			PrimaryPackagePurpose: "APPLICATION",
			ExternalRefs: []ExternalRef{{
				ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl(b.Info.Path, main.Version),
			}},
			Comment: "platform " + b.Platform + "; main package " + b.Info.Path + "; module " + main.Path + "; " + strings.Join(settings, " "),
		})
		doc.Relationships = append(doc.Relationships, Relationship{"SPDXRef-DOCUMENT", "DESCRIBES", binID})

		stdID := spdxID("Module", "stdlib", b.Info.GoVersion)
		add(Package{
			SPDXID: stdID, Name: "stdlib", VersionInfo: b.Info.GoVersion, DownloadLocation: "https://go.dev/dl/",
			ExternalRefs: []ExternalRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl("stdlib", b.Info.GoVersion)}},
		})
		doc.Relationships = append(doc.Relationships, Relationship{binID, "DEPENDS_ON", stdID})

		for _, dep := range b.Info.Deps {
			m := dep
			if dep.Replace != nil {
				m = dep.Replace
			}
			id := spdxID("Module", m.Path, m.Version)
			p := Package{
				SPDXID: id, Name: m.Path, VersionInfo: m.Version, DownloadLocation: "NOASSERTION",
				ExternalRefs: []ExternalRef{{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: purl(m.Path, m.Version)}},
			}
			if sum, ok := strings.CutPrefix(m.Sum, "h1:"); ok {
				p.Comment = "go.sum h1:" + sum
			}
			add(p)
			doc.Relationships = append(doc.Relationships, Relationship{binID, "DEPENDS_ON", id})
		}
	}
	slices.SortStableFunc(doc.Packages, func(a, b Package) int { return strings.Compare(a.SPDXID, b.SPDXID) })
	return doc
}
