package pipelinecheck

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestItemsAndConditionals(t *testing.T) {
	var doc map[string]any
	src := `
stages:
  - stage: A
  - ${{ if eq(parameters.x, true) }}:
      - stage: B
      - stage: C
  - stage: D
    ${{ if eq(parameters.x, true) }}:
      dependsOn: [A, B]
    ${{ else }}:
      dependsOn: [A]
`
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	its := items(asList(doc["stages"]))
	var names, conds []string
	for _, it := range its {
		m := mergeConditional(asMap(it.value))
		names = append(names, asString(m["stage"]))
		conds = append(conds, it.condition)
	}
	if len(names) != 4 || names[1] != "B" || names[2] != "C" {
		t.Fatalf("stages = %v", names)
	}
	if conds[0] != "" || conds[1] != "${{ if eq(parameters.x, true) }}" || conds[3] != "" {
		t.Fatalf("conditions = %q", conds)
	}
	d := mergeConditional(asMap(its[3].value))
	if deps := asStrings(d["dependsOn"]); len(deps) == 0 {
		t.Fatalf("dependsOn of a conditional branch lost: %v", d)
	}
}

func TestMainBranch(t *testing.T) {
	for src, want := range map[string]bool{
		"trigger: none":   false,
		"trigger: [main]": true,
		"trigger:\n  branches:\n    include: [main]": true,
		"trigger:\n  branches:\n    include: [dev]":  false,
	} {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
			t.Fatal(err)
		}
		if got := mainBranch(doc["trigger"]); got != want {
			t.Errorf("mainBranch(%q) = %v, want %v", src, got, want)
		}
	}
}
