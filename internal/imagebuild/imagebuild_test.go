package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func plat(s string) v1.Platform {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		panic(err)
	}
	return *p
}

func TestIndexRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	bin := writeFile(t, dir, "orders", "binary")
	tests := []struct {
		name string
		bins []Binary
		want error
	}{
		{"no binaries", nil, ErrNoBinaries},
		{"no architecture", []Binary{{Platform: v1.Platform{OS: "linux"}, Path: bin}}, ErrIncompletePlatform},
		{"duplicate platform", []Binary{{Platform: plat("linux/amd64"), Path: bin}, {Platform: plat("linux/amd64"), Path: bin}}, ErrDuplicatePlatform},
		{"missing file", []Binary{{Platform: plat("linux/amd64"), Path: filepath.Join(dir, "absent")}}, fs.ErrNotExist},
		{"bad name", []Binary{{Platform: plat("linux/amd64"), Path: bin, Name: "a/b"}}, ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Index(t.Context(), tt.bins, Options{Created: created})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Index() error = %v, want errors.Is %v", err, tt.want)
			}
		})
	}
}

func TestIndexIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	amd := writeFile(t, dir, "orders-amd64", "amd64 binary bytes")
	arm := writeFile(t, dir, "orders-arm64", "arm64 binary bytes")
	other := writeFile(t, dir, "orders-other", "different bytes")
	opts := Options{Created: created, Source: "https://example.test/repo", Revision: "abc123"}
	bins := []Binary{
		{Platform: plat("linux/amd64"), Path: amd, Name: "orders"},
		{Platform: plat("linux/arm64"), Path: arm, Name: "orders"},
	}
	digest := func(bins []Binary, opts Options) v1.Hash {
		t.Helper()
		idx, err := Index(t.Context(), bins, opts)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := digest(bins, opts)

	// Touch the files: a new mtime on disk must not change the image.
	later := time.Now().Add(time.Hour)
	for _, p := range []string{amd, arm} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	reversed := []Binary{bins[1], bins[0]}
	otherRevision := opts
	otherRevision.Revision = "def456"
	otherTime := opts
	otherTime.Created = created.Add(time.Second)

	tests := []struct {
		name string
		bins []Binary
		opts Options
		same bool
	}{
		{"same input again", bins, opts, true},
		{"platforms in another order", reversed, opts, true},
		{"different binary", []Binary{bins[0], {Platform: plat("linux/arm64"), Path: other, Name: "orders"}}, opts, false},
		{"different revision", bins, otherRevision, false},
		{"different created", bins, otherTime, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := digest(tt.bins, tt.opts)
			if (got == base) != tt.same {
				t.Fatalf("digest %s vs %s: same=%v, want same=%v", got, base, got == base, tt.same)
			}
		})
	}
}

func TestIndexContent(t *testing.T) {
	dir := t.TempDir()
	amd := writeFile(t, dir, "orders", "amd64 binary bytes")
	arm := writeFile(t, dir, "orders.arm", "arm64 binary bytes")
	idx, err := Index(t.Context(), []Binary{
		{Platform: plat("linux/arm64"), Path: arm, Name: "orders"},
		{Platform: plat("linux/amd64"), Path: amd},
	}, Options{
		Created: created, Source: "https://example.test/repo", Revision: "abc123",
		Labels: map[string]string{"extra": "yes"}, Env: []string{"TZ=UTC"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Round trip through an OCI layout (what `release image` writes) and
	// validate every blob and digest of what was written.
	lp, err := layout.Write(t.TempDir(), idx)
	if err != nil {
		t.Fatal(err)
	}
	back, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(back); err != nil {
		t.Fatalf("index does not validate: %v", err)
	}
	if a, b := mustDigest(t, idx), mustDigest(t, back); a != b {
		t.Fatalf("layout round trip changed the digest %s -> %s", a, b)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s", im.MediaType)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(im.Manifests))
	}
	if im.Annotations[LabelRevision] != "abc123" || im.Annotations[LabelCreated] != "2026-01-02T03:04:05Z" {
		t.Errorf("index annotations %v", im.Annotations)
	}
	want := map[string]string{"linux/amd64": "amd64 binary bytes", "linux/arm64": "arm64 binary bytes"}
	for _, desc := range im.Manifests {
		p := desc.Platform.String()
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
			t.Errorf("%s: manifest media type %s", p, mt)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config platform %s/%s", p, cf.OS, cf.Architecture)
		}
		if !cf.Created.Equal(created) {
			t.Errorf("%s: created %s", p, cf.Created)
		}
		c := cf.Config
		if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/app/orders" || c.User != "65532:65532" ||
			c.Labels[LabelSource] != "https://example.test/repo" || c.Labels["extra"] != "yes" ||
			len(c.Env) != 1 || c.Env[0] != "TZ=UTC" {
			t.Errorf("%s: config %+v", p, c)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: layers %d, %v", p, len(layers), err)
		}
		if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
			t.Errorf("%s: layer media type %s", p, mt)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		entries := readTar(t, rc)
		_ = rc.Close()
		if len(entries) != 2 {
			t.Fatalf("%s: tar entries %v", p, entries)
		}
		dirHdr, fileHdr := entries[0], entries[1]
		if dirHdr.Name != "app/" || dirHdr.Typeflag != tar.TypeDir {
			t.Errorf("%s: first entry %q type %c", p, dirHdr.Name, dirHdr.Typeflag)
		}
		if fileHdr.Name != "app/orders" || fileHdr.Mode != 0o755 || fileHdr.Uid != 0 || fileHdr.Gid != 0 ||
			!fileHdr.ModTime.Equal(created) || fileHdr.body != want[p] {
			t.Errorf("%s: file entry %+v body %q", p, fileHdr.Header, fileHdr.body)
		}
	}
}

type entry struct {
	*tar.Header
	body string
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	tr := tar.NewReader(r)
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, tr); err != nil { //nolint:gosec // test data of our own
			t.Fatal(err)
		}
		out = append(out, entry{h, b.String()})
	}
}

func mustDigest(t *testing.T, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
