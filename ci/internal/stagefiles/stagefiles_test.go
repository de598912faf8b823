package stagefiles

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"dagger/pipeline/settings"
)

func resolved(t *testing.T, s settings.Service) settings.Service {
	t.Helper()
	r, err := s.Resolve("example.com/svc")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func parseMod(t *testing.T, text string) *modfile.File {
	t.Helper()
	f, err := modfile.Parse("go.mod", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGoStage(t *testing.T) {
	app := resolved(t, settings.Service{Module: "app"})
	mod := parseMod(t, "module example.com/app\n\nreplace example.com/pg => ../internal/testenv/postgres\nreplace example.com/up => example.com/fork v1.0.0\n")
	p, err := GoStage(app, "pipeline.yaml", mod, Extra{LintConfig: "configs/lint.yml"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app/", "internal/testenv/postgres/", "configs/lint.yml"}; !reflect.DeepEqual(p.Include, want) {
		t.Errorf("Include = %q, want %q (the module, its local replacement, the lint config; not the module replacement)", p.Include, want)
	}
	for _, x := range []string{"**/*.key", "**/*kubeconfig*", "**/.env", "**/*.md", "azure-pipelines.yml", ".azure-pipelines", "dagger.json"} {
		if !slices.Contains(p.Exclude, x) {
			t.Errorf("Exclude lacks %q", x)
		}
	}

	root := resolved(t, settings.Service{})
	p, err = GoStage(root, "pipeline.yaml", parseMod(t, "module example.com/svc\n"), Extra{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Include != nil || !slices.Contains(p.Exclude, "manifests") || !slices.Contains(p.Exclude, "pipeline.yaml") {
		t.Errorf("module at the root: %+v, want everything but the manifests, the settings file and the usual exclusions", p)
	}

	for _, bad := range []string{"../../elsewhere", "/abs/path"} {
		_, err := GoStage(app, "pipeline.yaml", parseMod(t, "module example.com/app\n\nreplace example.com/x => "+bad+"\n"), Extra{})
		if err == nil || !strings.Contains(err.Error(), "the pipeline sees only the source") {
			t.Errorf("replacement %s: error = %v, want one saying the pipeline sees only the source", bad, err)
		}
	}
}

func TestDeploy(t *testing.T) {
	conv := resolved(t, settings.Service{})
	tree, err := Deploy(conv, "staging")
	if err != nil || tree.Prefix != "" || !reflect.DeepEqual(tree.Components([]string{"components/a"}), []string{"components/a"}) {
		t.Fatalf("conventional layout: %+v, %v; want the manifests as they are", tree, err)
	}
	custom := resolved(t, settings.Service{Manifests: "deploy", Overlays: map[string]string{"qa": "envs/qa"}})
	tree, err = Deploy(custom, "qa")
	if err != nil {
		t.Fatal(err)
	}
	if tree.Prefix != "service" || !strings.Contains(tree.Kustomization, "resources:\n  - ../../service/envs/qa\n") {
		t.Fatalf("custom layout: %+v", tree)
	}
	if got := tree.Components([]string{"components/a"}); !reflect.DeepEqual(got, []string{"service/components/a"}) {
		t.Fatalf("Components = %q", got)
	}
	if _, err := Deploy(custom, "production"); err == nil || !strings.Contains(err.Error(), "qa") {
		t.Fatalf("an environment without overlay: error = %v, want one listing qa", err)
	}
}
