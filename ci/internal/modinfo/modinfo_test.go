package modinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"Ci": "ci", "UnitTest": "unit-test", "AcceptanceTest": "acceptance-test", "dbPassword": "db-password",
		"noFail": "no-fail", "azureTenantId": "azure-tenant-id", "sourceURL": "source-url", "plainHttp": "plain-http",
		"HTTPServer": "http-server", "kmsKey": "kms-key", "v2Image": "v2-image",
	} {
		if got := Kebab(in); got != want {
			t.Errorf("Kebab(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoField(t *testing.T) {
	for in, want := range map[string]string{
		"noFail": "NoFail", "plainHttp": "PlainHTTP", "azureTenantId": "AzureTenantID", "sourceUrl": "SourceURL",
		"dbPassword": "DbPassword", "source": "Source",
	} {
		if got := GoField(in); got != want {
			t.Errorf("GoField(%q) = %q, want %q", in, got, want)
		}
	}
}

const fixture = `package main

import (
	"context"

	"dagger/x/internal/dagger"
)

// Thing does things.
type Thing struct {
	// +private
	Src *dagger.Directory
	// Visible name.
	Name string
}

// New makes a Thing.
func New(
	// The source.
	// +defaultPath="/"
	// +ignore=[".git"]
	src *dagger.Directory,
	// The name.
	// +optional
	// +default="x"
	name string,
) *Thing {
	return &Thing{Src: src, Name: name}
}

// Ship ships it.
// +cache="never"
func (m *Thing) Ship(ctx context.Context,
	// Where to.
	target string,
	token *dagger.Secret, // undocumented
) (string, error) {
	return "", nil
}

func (m *Thing) Undocumented() string { return "" }

func (m *Thing) private() {}
`

func TestLoadSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := LoadSource(dir, "thing")
	if err != nil {
		t.Fatal(err)
	}
	if m.Constructor == nil || len(m.Constructor.Args) != 2 {
		t.Fatalf("constructor = %+v", m.Constructor)
	}
	src := m.Constructor.Args[0]
	if src.Doc != "The source." || src.Pragmas["defaultPath"] != `"/"` || !src.Optional() || src.Pragmas["ignore"] != `[".git"]` {
		t.Fatalf("constructor arg src = %+v", src)
	}
	ship, ok := m.Function("Thing", "ship")
	if !ok {
		t.Fatal("function ship not found")
	}
	if !ship.HasCtx || ship.Pragmas["cache"] != `"never"` || ship.Doc != "Ship ships it." {
		t.Fatalf("ship = %+v", ship)
	}
	if a, ok := ship.Arg("target"); !ok || a.Doc != "Where to." || a.Optional() {
		t.Fatalf("ship target = %+v, %v", a, ok)
	}
	if a, ok := ship.Arg("token"); !ok || a.Doc != "" || !a.IsSecret() {
		t.Fatalf("ship token = %+v, %v", a, ok)
	}
	if strings.Join(ship.Results, ",") != "string,error" {
		t.Fatalf("ship results = %v", ship.Results)
	}
	if _, ok := m.Function("Thing", "private"); ok {
		t.Fatal("unexported method exposed")
	}
	if len(m.Objects["Thing"].Fields) != 2 || !m.Objects["Thing"].Fields[0].Private {
		t.Fatalf("fields = %+v", m.Objects["Thing"].Fields)
	}
	problems := Lint(m, nil)
	joined := strings.Join(problems, "\n")
	for _, want := range []string{"Thing.Undocumented: no doc comment", "Thing.Ship argument token: no doc comment"} {
		if !strings.Contains(joined, want) {
			t.Errorf("Lint() = %q, want a problem %q", joined, want)
		}
	}
}
