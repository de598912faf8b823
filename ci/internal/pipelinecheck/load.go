// Package pipelinecheck keeps azure-pipelines.yml honest about the Dagger
// module it calls. It reads the Azure Pipelines files (and the step
// templates they use) and the module's Go source, and reports when:
//   - a `dagger call` names a function or flag the module does not define
//     (names derived from the Go signatures as Dagger derives them: kebab-case),
//     or misses a required argument;
//   - a secret-typed argument is given a literal instead of env:/file:/cmd:,
//     or an env: secret is not mapped into the step's environment;
//   - a script step does anything beyond installing the Dagger CLI and calling
//     Dagger (AzureCLI steps may only fetch credentials);
//   - a stage of the reference pipeline is missing: PR validation, CI with
//     integration tests and publish, staging deploy, acceptance, manual
//     validation, promote, production deploy;
//   - the pipeline installs a Dagger CLI other than the version dagger.json
//     pins, or without checking its download against the pinned checksum;
//   - an operations rule does not hold on the expanded pipelines
//     (operations.go): CD fed by another branch than main, artifacts a re-run
//     cannot publish again (or CD cannot read by name), a manual validation
//     its own job cancels, deployment jobs downloading everything, calls that
//     pull base images from Docker Hub instead of the mirror, a shared engine
//     without a self-hosted pool, the non-production public key not taken
//     from Key Vault and checked in CD's first stage.
//
// Schema (schema.go) validates the files, and the pipelines expanded by
// Expand (expand.go), against Azure Pipelines' published YAML schema.
package pipelinecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// node is a parsed YAML value: map[string]any, []any, string, bool, int...
type node = any

func asMap(n node) map[string]any {
	m, _ := n.(map[string]any)
	return m
}

func asList(n node) []any {
	l, _ := n.([]any)
	return l
}

func asString(n node) string {
	switch v := n.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func asStrings(n node) []string {
	var out []string
	for _, v := range asList(n) {
		out = append(out, asString(v))
	}
	if s, ok := n.(string); ok && s != "" {
		out = append(out, s)
	}
	return out
}

// isExpr reports whether a key is a template expression (${{ if ... }}, ${{ each ... }}).
func isExpr(k string) bool { return strings.HasPrefix(strings.TrimSpace(k), "${{") }

// readYAML parses a YAML file.
func readYAML(path string) (map[string]any, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return doc, nil
}

// items flattens a YAML list whose entries may be conditional insertions
// (`- ${{ if ... }}:` followed by a list): both branches count, and the
// returned flags say which entries sit under a condition and which one.
func items(list []any) []item {
	var out []item
	for _, v := range list {
		m := asMap(v)
		if len(m) == 1 {
			for k, inner := range m {
				if isExpr(k) {
					for _, it := range items(asList(inner)) {
						if it.condition == "" {
							it.condition = k
						}
						out = append(out, it)
					}
					goto next
				}
			}
		}
		out = append(out, item{value: v})
	next:
	}
	return out
}

type item struct {
	value     node
	condition string // the ${{ if }} expression the item is inserted under, if any
}

// mergeConditional merges the values of `${{ if }}:`/`${{ else }}:` keys of a
// mapping into it (the first branch wins), so a stage's dependsOn written in
// both branches is seen.
func mergeConditional(m map[string]any) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isExpr(k) {
			for ik, iv := range asMap(m[k]) {
				if _, ok := out[ik]; !ok {
					out[ik] = iv
				}
			}
			continue
		}
		out[k] = m[k]
	}
	return out
}
