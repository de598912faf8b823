package pipelinecheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"
)

// Schema validates pipeline files against the Azure Pipelines YAML schema
// (microsoft/azure-pipelines-vscode's service-schema.json) the way the VS
// Code extension does:
//   - a YAML scalar is typed as YAML types it (true a boolean, 0 a number),
//     and where the schema wants a string any scalar is accepted, as Azure
//     Pipelines reads every scalar as a string;
//   - `ignoreCase: value|all` (an extension keyword) makes an enum or pattern
//     match case-insensitively: such enums and patterns are rewritten to
//     case-insensitive patterns before compiling;
//   - the other extension keywords (firstProperty, aliases, doNotSuggest,
//     deprecationMessage) only steer completion and are ignored;
//   - `ignoreCase: key` (case-insensitive property names) is NOT applied:
//     property names must be spelled as the schema spells them, which is
//     stricter than the extension and holds for this repository's files.
//
// A pipeline is validated against the schema's root; a template file
// against the definition for its kind (stepsTemplate, jobsTemplate,
// stagesTemplate, variablesTemplate), since the root only describes
// pipelines.
type Schema struct {
	root      *jsonschema.Schema
	templates map[string]*jsonschema.Schema // top-level key -> template definition
}

const schemaURL = "https://github.com/Microsoft/azure-pipelines-vscode/blob/main/service-schema.json"

// LoadSchema compiles the schema file.
func LoadSchema(path string) (*Schema, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read the pipeline schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		return nil, fmt.Errorf("parse the pipeline schema %s: %w", path, err)
	}
	if err := applyIgnoreCase(doc); err != nil {
		return nil, fmt.Errorf("pipeline schema %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("pipeline schema %s: %w", path, err)
	}
	s := &Schema{templates: map[string]*jsonschema.Schema{}}
	if s.root, err = c.Compile(schemaURL); err != nil {
		return nil, fmt.Errorf("compile the pipeline schema %s: %w", path, err)
	}
	for key, def := range map[string]string{"steps": "stepsTemplate", "jobs": "jobsTemplate", "stages": "stagesTemplate", "variables": "variablesTemplate"} {
		if s.templates[key], err = c.Compile(schemaURL + "#/definitions/" + def); err != nil {
			return nil, fmt.Errorf("compile the pipeline schema's %s: %w", def, err)
		}
	}
	return s, nil
}

// applyIgnoreCase rewrites enums and patterns marked ignoreCase value/all
// into case-insensitive patterns, which is how the extension matches them.
func applyIgnoreCase(n any) error {
	switch v := n.(type) {
	case map[string]any:
		// Azure Pipelines reads every scalar as a string, and the extension
		// accepts a number or boolean where the schema wants a string
		// (fetchDepth: 0, lfs: true); a string-typed value still has to
		// match its pattern or enum when it is written as a string.
		if v["type"] == "string" {
			v["type"] = []any{"string", "number", "boolean"}
		}
		if ic, _ := v["ignoreCase"].(string); ic == "value" || ic == "all" {
			if p, ok := v["pattern"].(string); ok {
				v["pattern"] = "(?i)" + p
			}
			if enum, ok := v["enum"].([]any); ok {
				var alts []string
				for _, e := range enum {
					s, ok := e.(string)
					if !ok {
						return fmt.Errorf("ignoreCase enum with a non-string value %v", e)
					}
					alts = append(alts, regexp.QuoteMeta(s))
				}
				delete(v, "enum")
				if _, has := v["pattern"]; has {
					return errors.New("ignoreCase schema with both enum and pattern")
				}
				v["pattern"] = "(?i)^(?:" + strings.Join(alts, "|") + ")$"
				if _, typed := v["type"]; !typed {
					v["type"] = "string"
				}
			}
		}
		for _, inner := range v {
			if err := applyIgnoreCase(inner); err != nil {
				return err
			}
		}
	case []any:
		for _, inner := range v {
			if err := applyIgnoreCase(inner); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateFile validates one pipeline or template file as written. Template
// directives (`${{ if }}`, `${{ else }}`, `${{ each }}`) are read as the
// extension reads them: the entries under them count where the directive
// stands (all branches), other expressions stay strings.
func (s *Schema) ValidateFile(root, rel string) ([]Problem, error) {
	n, err := readNode(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	doc := flattenDirectives(nodeValue(n))
	sch := s.root
	if m, ok := doc.(map[string]any); ok && m["trigger"] == nil && m["pr"] == nil && m["resources"] == nil && m["pool"] == nil {
		// No pipeline-level setting: a template; validate it as its kind.
		for key, t := range s.templates {
			if _, has := m[key]; has {
				sch = t
			}
		}
	}
	return s.validate(rel, "", sch, doc), nil
}

// ValidateExpanded expands a pipeline's templates and template expressions
// (see Expand) and validates the result against the schema's root, once per
// combination of its boolean parameters.
func (s *Schema) ValidateExpanded(root, rel string) ([]Problem, error) {
	runs, err := ExpandAll(root, rel)
	if err != nil {
		return nil, err
	}
	var out []Problem
	for _, r := range runs {
		out = append(out, s.validate(rel, "expanded"+r.label, s.root, nodeValue(r.doc))...)
	}
	return out, nil
}

func (s *Schema) validate(file, where string, sch *jsonschema.Schema, doc any) []Problem {
	err := sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Problem{{File: file, Where: where, Msg: "schema: " + err.Error()}}
	}
	var out []Problem
	for _, msg := range leafErrors(ve, doc) {
		out = append(out, Problem{File: file, Where: where, Msg: "schema: " + msg})
	}
	return out
}

// leafErrors returns the causes of a validation error that matter, each
// with the location in the document it concerns. Where the schema offers
// alternatives (anyOf/oneOf: every task, every step kind), only the
// alternatives that got furthest into the document are followed: the branch
// for the task that is written, not the hundreds of others.
//
// A value that is a template expression (`${{ parameters.name }}` in a
// template file) is not judged: what it becomes is checked in the expanded
// pipeline. An alternative that fails only at such values counts as met.
func leafErrors(ve *jsonschema.ValidationError, doc any) []string {
	p := message.NewPrinter(language.English)
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if excused(e, doc) {
			return
		}
		if len(e.Causes) == 0 {
			seen["at /"+strings.Join(e.InstanceLocation, "/")+": "+e.ErrorKind.LocalizedString(p)] = true
			return
		}
		causes := e.Causes
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf:
			for _, c := range causes {
				if excused(c, doc) {
					return
				}
			}
			best := -1
			var keep []*jsonschema.ValidationError
			for _, c := range causes {
				d := reach(c)
				switch {
				case d > best:
					best, keep = d, []*jsonschema.ValidationError{c}
				case d == best:
					keep = append(keep, c)
				}
			}
			// Among those, an alternative whose discriminating value does not
			// match (task: is another task) is not the one meant.
			var matching []*jsonschema.ValidationError
			for _, c := range keep {
				if !valueMismatch(c) {
					matching = append(matching, c)
				}
			}
			if len(matching) > 0 {
				keep = matching
			}
			causes = keep
		}
		for _, c := range causes {
			walk(c)
		}
	}
	walk(ve)
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// excused reports whether every leaf of an error is at a template expression.
func excused(e *jsonschema.ValidationError, doc any) bool {
	if len(e.Causes) == 0 {
		v, ok := at(doc, e.InstanceLocation).(string)
		return ok && strings.Contains(v, "${{")
	}
	for _, c := range e.Causes {
		if !excused(c, doc) {
			return false
		}
	}
	return true
}

// at returns the value at a location of the document.
func at(doc any, loc []string) any {
	for _, tok := range loc {
		switch v := doc.(type) {
		case map[string]any:
			doc = v[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil
			}
			doc = v[i]
		default:
			return nil
		}
	}
	return doc
}

// valueMismatch reports whether an error has a cause that is a value not
// matching an enum, const or pattern.
func valueMismatch(e *jsonschema.ValidationError) bool {
	switch e.ErrorKind.(type) {
	case *kind.Enum, *kind.Const, *kind.Pattern:
		return true
	}
	for _, c := range e.Causes {
		if valueMismatch(c) {
			return true
		}
	}
	return false
}

// reach is how deep into the document an error's deepest cause lies.
func reach(e *jsonschema.ValidationError) int {
	d := len(e.InstanceLocation)
	for _, c := range e.Causes {
		if r := reach(c); r > d {
			d = r
		}
	}
	return d
}

// readNode parses a YAML file into its node tree.
func readNode(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return n.Content[0], nil
	}
	return nil, fmt.Errorf("parse %s: not one YAML document", path)
}

// nodeValue converts a YAML node to the JSON value the schema sees: every
// scalar a string.
func nodeValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return nodeValue(n.Content[0])
		}
		return nil
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, nodeValue(c))
		}
		return l
	default:
		return scalarJSON(n)
	}
}

// scalarJSON types a scalar as YAML does (booleans, integers, numbers,
// strings); see leniency in LoadSchema for where the schema wants strings.
func scalarJSON(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		var f float64
		if n.Decode(&f) == nil {
			return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
		}
	case "!!null":
		return ""
	}
	return n.Value
}

// isDirective reports whether a key is a template directive whose entries
// are inserted where it stands.
func isDirective(k string) bool {
	k = strings.TrimSpace(k)
	if !strings.HasPrefix(k, "${{") || !strings.HasSuffix(k, "}}") {
		return false
	}
	body := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(k, "${{"), "}}"))
	for _, d := range []string{"if ", "elseif ", "each ", "else", "insert"} {
		if body == strings.TrimSpace(d) || strings.HasPrefix(body, d) {
			return true
		}
	}
	return false
}

// flattenDirectives inserts the entries under template directives where the
// directive stands (every branch; the first occurrence of a key wins).
func flattenDirectives(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !isDirective(k) {
				out[k] = flattenDirectives(x[k])
			}
		}
		for _, k := range keys {
			if isDirective(k) {
				if inner, ok := flattenDirectives(x[k]).(map[string]any); ok {
					for ik, iv := range inner {
						if _, has := out[ik]; !has {
							out[ik] = iv
						}
					}
				}
			}
		}
		return out
	case []any:
		var out []any
		for _, item := range x {
			if m, ok := item.(map[string]any); ok && len(m) == 1 {
				spliced := false
				for k, inner := range m {
					if l, isList := inner.([]any); isDirective(k) && isList {
						out = append(out, flattenDirectives(l).([]any)...)
						spliced = true
					}
				}
				if spliced {
					continue
				}
			}
			out = append(out, flattenDirectives(item))
		}
		if out == nil {
			out = []any{}
		}
		return out
	default:
		return v
	}
}
