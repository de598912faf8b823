package sbom

import (
	"bytes"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
)

func TestBuild(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.27.3",
		Path:      "github.com/go-aks/pipeline/app/cmd/orders",
		Main:      debug.Module{Path: "github.com/go-aks/pipeline", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "github.com/jackc/pgx/v5", Version: "v5.7.0", Sum: "h1:abc="},
			{Path: "golang.org/x/text", Version: "v0.1.0", Replace: &debug.Module{Path: "golang.org/x/text", Version: "v0.2.0"}},
		},
		Settings: []debug.BuildSetting{{Key: "GOARCH", Value: "amd64"}, {Key: "vcs.revision", Value: "abc"}},
	}
	bins := []Binary{
		{Platform: "linux/amd64", Path: "/app/orders", Info: info},
		{Platform: "linux/arm64", Path: "/app/orders", Info: info},
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	doc := Build(bins, "reg/orders", "sha256:00", created)
	// Encode, then read back and validate with spdx/tools-golang's own
	// reader and validator (not our structs).
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf); err != nil {
		t.Fatal(err)
	}
	read, err := spdxjson.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("tools-golang cannot read the SBOM: %v\n%s", err, buf.Bytes())
	}
	if err := spdxlib.ValidateDocument(read); err != nil {
		t.Fatalf("tools-golang validator rejects the SBOM: %v", err)
	}
	describedIDs, err := spdxlib.GetDescribedPackageIDs(read)
	if err != nil || len(describedIDs) != 2 {
		t.Fatalf("described packages %v (%v); want the 2 binaries", describedIDs, err)
	}
	doc = read
	if doc.CreationInfo.Created != "2026-01-02T03:04:05Z" || doc.SPDXVersion != "SPDX-2.3" {
		t.Fatalf("header %+v", doc)
	}
	if !strings.Contains(buf.String(), `"SPDXID":"SPDXRef-DOCUMENT"`) {
		t.Errorf("encoded document lacks the SPDXRef- prefixed document id: %s", buf.String())
	}
	purls := map[string]bool{}
	ids := map[common.ElementID]bool{}
	for _, p := range doc.Packages {
		if ids[p.PackageSPDXIdentifier] {
			t.Errorf("duplicate SPDXID %s", p.PackageSPDXIdentifier)
		}
		ids[p.PackageSPDXIdentifier] = true
		if strings.ContainsAny(string(p.PackageSPDXIdentifier), "/@:_ ") {
			t.Errorf("SPDXID %q has characters SPDX forbids", p.PackageSPDXIdentifier)
		}
		for _, r := range p.PackageExternalReferences {
			purls[r.Locator] = true
		}
	}
	for _, want := range []string{
		"pkg:golang/github.com/go-aks/pipeline/app/cmd/orders",
		"pkg:golang/github.com/jackc/pgx/v5@v5.7.0",
		"pkg:golang/golang.org/x/text@v0.2.0", // the replacement is what was built
		"pkg:golang/stdlib@go1.27.3",
	} {
		if !purls[want] {
			t.Errorf("no package %s in %v", want, purls)
		}
	}
	// 2 binaries + stdlib + 2 modules (deduplicated across platforms).
	if len(doc.Packages) != 5 {
		t.Errorf("%d packages, want 5", len(doc.Packages))
	}
	described := 0
	for _, r := range doc.Relationships {
		if r.Relationship == common.TypeRelationshipDescribe {
			described++
		}
		if !ids[r.RefB.ElementRefID] || (r.RefA.ElementRefID != "DOCUMENT" && !ids[r.RefA.ElementRefID]) {
			t.Errorf("relationship %+v points at an unknown element", r)
		}
	}
	if described != 2 {
		t.Errorf("%d DESCRIBES relationships, want 2", described)
	}
	again := Build(bins, "reg/orders", "sha256:00", created)
	if !reflect.DeepEqual(again, Build(bins, "reg/orders", "sha256:00", created)) {
		t.Error("Build is not deterministic")
	}
	if _, err := Parse(buf.Bytes()); err != nil {
		t.Fatalf("Parse of our own document: %v", err)
	}
}

// Validate refuses documents the SPDX validator or the SPDX 2.3 header
// rules reject, naming what is wrong.
func TestValidateRefuses(t *testing.T) {
	good := func() *spdx.Document {
		info := &debug.BuildInfo{GoVersion: "go1.27.3", Path: "example.com/app", Main: debug.Module{Path: "example.com/app"}}
		return Build([]Binary{{Platform: "linux/amd64", Path: "/app/app", Info: info}}, "reg/app", "sha256:00", time.Unix(0, 0))
	}
	tests := []struct {
		name    string
		mutate  func(*spdx.Document)
		wantErr string
	}{
		{"dangling relationship", func(d *spdx.Document) {
			d.Relationships = append(d.Relationships, rel("DOCUMENT", "Missing", common.TypeRelationshipDescribe))
		}, "Missing used in relationship but no such package exists"},
		{"no relationships", func(d *spdx.Document) { d.Relationships = nil }, "but Relationships slice is nil"},
		{"wrong version", func(d *spdx.Document) { d.SPDXVersion = "SPDX-2.1" }, `version "SPDX-2.1"`},
		{"no creation info", func(d *spdx.Document) { d.CreationInfo = nil }, "creation info"},
	}
	if err := Validate(good()); err != nil {
		t.Fatalf("a good document is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good()
			tt.mutate(d)
			err := Validate(d)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := Parse([]byte(`{"spdxVersion": 3}`)); err == nil || !strings.Contains(err.Error(), "not an SPDX JSON document") {
		t.Fatalf("Parse of garbage: %v", err)
	}
}
