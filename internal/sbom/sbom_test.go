package sbom

import (
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
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
	if doc.CreationInfo.Created != "2026-01-02T03:04:05Z" || doc.SPDXVersion != "SPDX-2.3" {
		t.Fatalf("header %+v", doc)
	}
	purls := map[string]bool{}
	ids := map[string]bool{}
	for _, p := range doc.Packages {
		if ids[p.SPDXID] {
			t.Errorf("duplicate SPDXID %s", p.SPDXID)
		}
		ids[p.SPDXID] = true
		if strings.ContainsAny(strings.TrimPrefix(p.SPDXID, "SPDXRef-"), "/@:_ ") {
			t.Errorf("SPDXID %q has characters SPDX forbids", p.SPDXID)
		}
		for _, r := range p.ExternalRefs {
			purls[r.ReferenceLocator] = true
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
		if r.Type == "DESCRIBES" {
			described++
		}
		if !ids[r.Related] || (r.Element != "SPDXRef-DOCUMENT" && !ids[r.Element]) {
			t.Errorf("relationship %+v points at an unknown element", r)
		}
	}
	if described != 2 {
		t.Errorf("%d DESCRIBES relationships, want 2", described)
	}
	again := Build(bins, "reg/orders", "sha256:00", created)
	if !reflect.DeepEqual(again, doc) {
		t.Error("Build is not deterministic")
	}
}
