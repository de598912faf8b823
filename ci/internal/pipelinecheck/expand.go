package pipelinecheck

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Expand does what Azure Pipelines does to a pipeline file before it runs
// it, for the subset of template syntax this repository uses: it inserts
// step, job, stage and variable templates (`- template: FILE` with
// `parameters:`), binds template parameters (defaults, unknown and missing
// parameters are errors), and evaluates compile-time expressions:
// `${{ parameters.X }}`, `${{ variables.X }}` (the pipeline's variables,
// including variable templates), `${{ if }}`/`${{ elseif }}`/`${{ else }}`,
// `${{ each x in ... }}`, and the functions eq, ne, and, or, not, join and
// coalesce. Anything else is an error naming the expression, so the
// expansion never silently differs from Azure's. Runtime syntax ($(var),
// $[ expr ]) is left as it is.
type expansion struct {
	label string // e.g. " (manualValidation=false)"
	doc   *yaml.Node
}

// ExpandAll expands a pipeline once per combination of its boolean
// parameters (other parameters take their defaults).
func ExpandAll(root, rel string) ([]expansion, error) {
	n, err := readNode(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	params, err := declaredParameters(rel, mappingValue(n, "parameters"))
	if err != nil {
		return nil, err
	}
	var bools []string
	for _, p := range params.order {
		if params.types[p] == "boolean" {
			bools = append(bools, p)
		}
	}
	if len(bools) > 4 {
		bools = bools[:4]
	}
	var out []expansion
	for mask := 0; mask < 1<<len(bools); mask++ {
		values := map[string]any{}
		var label []string
		for _, p := range params.order {
			values[p] = params.defaults[p]
		}
		for i, p := range bools {
			v := mask&(1<<i) != 0
			values[p] = v
			label = append(label, fmt.Sprintf("%s=%v", p, v))
		}
		e := &expander{root: root, variables: map[string]any{}}
		doc, err := e.pipeline(rel, n, values)
		if err != nil {
			return nil, err
		}
		l := ""
		if len(label) > 0 {
			l = " (" + strings.Join(label, ", ") + ")"
		}
		out = append(out, expansion{label: l, doc: doc})
	}
	return out, nil
}

type expander struct {
	root      string
	variables map[string]any
	depth     int
}

// scope is what expressions in one file can see.
type scope struct {
	file   string // relative to root, for errors and relative template paths
	params map[string]any
	loop   map[string]any // ${{ each }} variables
}

type paramDecls struct {
	order    []string
	types    map[string]string
	defaults map[string]any
	required map[string]bool
}

// declaredParameters reads a `parameters:` list (name, type, default).
func declaredParameters(file string, n *yaml.Node) (paramDecls, error) {
	d := paramDecls{types: map[string]string{}, defaults: map[string]any{}, required: map[string]bool{}}
	if n == nil {
		return d, nil
	}
	if n.Kind != yaml.SequenceNode {
		return d, fmt.Errorf("%s: parameters must be a list of {name, type, default}", file)
	}
	for _, p := range n.Content {
		name := scalarValue(mappingValue(p, "name"))
		if name == "" {
			return d, fmt.Errorf("%s: a parameter without a name", file)
		}
		d.order = append(d.order, name)
		d.types[name] = scalarValue(mappingValue(p, "type"))
		if d.types[name] == "" {
			d.types[name] = "string"
		}
		def := mappingValue(p, "default")
		if def == nil {
			d.required[name] = true
			continue
		}
		d.defaults[name] = typedValue(d.types[name], def)
	}
	return d, nil
}

// typedValue turns a parameter value into what expressions compare:
// booleans and numbers for those types, the node itself for objects.
func typedValue(typ string, n *yaml.Node) any {
	if n.Kind != yaml.ScalarNode {
		return n
	}
	switch typ {
	case "boolean":
		if b, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return b
		}
	case "number":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "object":
		return n
	}
	return n.Value
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// pipeline expands a pipeline document: variables first (so
// ${{ variables.X }} sees them), then everything else in order.
func (e *expander) pipeline(rel string, n *yaml.Node, params map[string]any) (*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a mapping", rel)
	}
	sc := &scope{file: rel, params: params}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if v := mappingValue(n, "variables"); v != nil {
		if _, err := e.variablesList(sc, v); err != nil {
			return nil, err
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "parameters" {
			out.Content = append(out.Content, k, v)
			continue
		}
		ev, err := e.value(sc, v)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, k, ev)
	}
	return out, nil
}

// variablesList expands a variables section and records the variables.
func (e *expander) variablesList(sc *scope, n *yaml.Node) (*yaml.Node, error) {
	ev, err := e.value(sc, n)
	if err != nil {
		return nil, err
	}
	switch ev.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(ev.Content); i += 2 {
			e.variables[ev.Content[i].Value] = ev.Content[i+1].Value
		}
	case yaml.SequenceNode:
		for _, item := range ev.Content {
			if name := scalarValue(mappingValue(item, "name")); name != "" {
				e.variables[name] = scalarValue(mappingValue(item, "value"))
			}
		}
	}
	return ev, nil
}

// value expands any node.
func (e *expander) value(sc *scope, n *yaml.Node) (*yaml.Node, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return e.scalar(sc, n)
	case yaml.SequenceNode:
		return e.sequence(sc, n)
	case yaml.MappingNode:
		return e.mapping(sc, n)
	case yaml.AliasNode:
		return e.value(sc, n.Alias)
	}
	return n, nil
}

func (e *expander) scalar(sc *scope, n *yaml.Node) (*yaml.Node, error) {
	s := n.Value
	if !strings.Contains(s, "${{") {
		return n, nil
	}
	trimmed := strings.TrimSpace(s)
	if strings.HasPrefix(trimmed, "${{") && strings.HasSuffix(trimmed, "}}") && strings.Count(trimmed, "${{") == 1 {
		v, err := e.eval(sc, exprBody(trimmed))
		if err != nil {
			return nil, err
		}
		if node, ok := v.(*yaml.Node); ok {
			return node, nil
		}
		return scalar(toString(v)), nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("%s: unterminated expression in %q", sc.file, n.Value)
		}
		b.WriteString(s[:i])
		v, err := e.eval(sc, s[i+3:i+j])
		if err != nil {
			return nil, err
		}
		if node, ok := v.(*yaml.Node); ok && node.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: %q inserts a %s into a string", sc.file, s[i:i+j+2], kindName(node))
		}
		b.WriteString(toString(v))
		s = s[i+j+2:]
	}
	return scalar(b.String()), nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "scalar"
}

func exprBody(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "${{"), "}}"))
}

// directive splits a directive key into its keyword and expression.
func directive(k string) (kind, expr string, ok bool) {
	if !isDirective(k) {
		return "", "", false
	}
	body := exprBody(k)
	for _, d := range []string{"elseif", "if", "each", "else", "insert"} {
		if body == d || strings.HasPrefix(body, d+" ") || strings.HasPrefix(body, d+"(") {
			return d, strings.TrimSpace(strings.TrimPrefix(body, d)), true
		}
	}
	return "", "", false
}

// conditional tracks an if/elseif/else chain.
type conditional struct{ active, taken bool }

func (c *conditional) branch(e *expander, sc *scope, kind, expr string) (bool, error) {
	switch kind {
	case "if":
		ok, err := e.truth(sc, expr)
		if err != nil {
			return false, err
		}
		c.active, c.taken = true, ok
		return ok, nil
	case "elseif", "else":
		if !c.active {
			return false, fmt.Errorf("%s: ${{ %s }} without a preceding ${{ if }}", sc.file, kind)
		}
		if c.taken {
			if kind == "else" {
				c.active = false
			}
			return false, nil
		}
		if kind == "else" {
			c.active = false
			return true, nil
		}
		ok, err := e.truth(sc, expr)
		if err != nil {
			return false, err
		}
		c.taken = ok
		return ok, nil
	}
	return false, fmt.Errorf("%s: unexpected ${{ %s }}", sc.file, kind)
}

func (e *expander) truth(sc *scope, expr string) (bool, error) {
	v, err := e.eval(sc, expr)
	if err != nil {
		return false, err
	}
	return truthy(v), nil
}

// each iterates ${{ each NAME in EXPR }}, calling f with NAME bound.
func (e *expander) each(sc *scope, expr string, f func(*scope) error) error {
	name, in, ok := strings.Cut(expr, " in ")
	if !ok {
		return fmt.Errorf("%s: ${{ each %s }}: expected NAME in EXPR", sc.file, expr)
	}
	name = strings.TrimSpace(name)
	v, err := e.eval(sc, in)
	if err != nil {
		return err
	}
	node, _ := v.(*yaml.Node)
	if node == nil {
		return fmt.Errorf("%s: ${{ each %s }}: %s is not a list or mapping", sc.file, expr, in)
	}
	inner := func(item any) error {
		loop := map[string]any{}
		for k, v := range sc.loop {
			loop[k] = v
		}
		loop[name] = item
		return f(&scope{file: sc.file, params: sc.params, loop: loop})
	}
	switch node.Kind {
	case yaml.SequenceNode:
		for _, c := range node.Content {
			if err := inner(c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			if err := inner(keyValue{key: node.Content[i].Value, value: node.Content[i+1]}); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if node.Value != "" {
			return fmt.Errorf("%s: ${{ each %s }}: %s is a scalar", sc.file, expr, in)
		}
	}
	return nil
}

type keyValue struct {
	key   string
	value *yaml.Node
}

func (e *expander) mapping(sc *scope, n *yaml.Node) (*yaml.Node, error) {
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	var cond conditional
	add := func(v *yaml.Node) error {
		if v.Kind == yaml.ScalarNode && v.Value == "" {
			return nil
		}
		if v.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: a directive inside a mapping must hold a mapping, not a %s", sc.file, kindName(v))
		}
		out.Content = append(out.Content, v.Content...)
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kind, expr, isDir := directive(k.Value)
		if !isDir {
			cond = conditional{}
			ek, err := e.scalar(sc, k)
			if err != nil {
				return nil, err
			}
			ev, err := e.value(sc, v)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, ek, ev)
			continue
		}
		switch kind {
		case "if", "elseif", "else":
			take, err := cond.branch(e, sc, kind, expr)
			if err != nil {
				return nil, err
			}
			if take {
				ev, err := e.value(sc, v)
				if err != nil {
					return nil, err
				}
				if err := add(ev); err != nil {
					return nil, err
				}
			}
		case "each":
			cond = conditional{}
			if err := e.each(sc, expr, func(inner *scope) error {
				ev, err := e.value(inner, v)
				if err != nil {
					return err
				}
				return add(ev)
			}); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: ${{ %s }} is not supported by this check", sc.file, kind)
		}
	}
	// Azure rejects a mapping that ends up with a key twice.
	seen := map[string]bool{}
	for i := 0; i+1 < len(out.Content); i += 2 {
		if seen[out.Content[i].Value] {
			return nil, fmt.Errorf("%s: key %q appears twice after expansion", sc.file, out.Content[i].Value)
		}
		seen[out.Content[i].Value] = true
	}
	return out, nil
}

func (e *expander) sequence(sc *scope, n *yaml.Node) (*yaml.Node, error) {
	out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	var cond conditional
	addList := func(v *yaml.Node) error {
		if v.Kind == yaml.ScalarNode && v.Value == "" {
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: a directive inside a list must hold a list, not a %s", sc.file, kindName(v))
		}
		out.Content = append(out.Content, v.Content...)
		return nil
	}
	for _, item := range n.Content {
		if item.Kind == yaml.MappingNode && len(item.Content) == 2 {
			if kind, expr, isDir := directive(item.Content[0].Value); isDir {
				v := item.Content[1]
				switch kind {
				case "if", "elseif", "else":
					take, err := cond.branch(e, sc, kind, expr)
					if err != nil {
						return nil, err
					}
					if take {
						ev, err := e.value(sc, v)
						if err != nil {
							return nil, err
						}
						if err := addList(ev); err != nil {
							return nil, err
						}
					}
				case "each":
					cond = conditional{}
					if err := e.each(sc, expr, func(inner *scope) error {
						ev, err := e.value(inner, v)
						if err != nil {
							return err
						}
						return addList(ev)
					}); err != nil {
						return nil, err
					}
				default:
					return nil, fmt.Errorf("%s: ${{ %s }} is not supported by this check", sc.file, kind)
				}
				continue
			}
		}
		cond = conditional{}
		if tpl := mappingValue(item, "template"); tpl != nil && item.Kind == yaml.MappingNode {
			inserted, err := e.template(sc, item)
			if err != nil {
				return nil, err
			}
			out.Content = append(out.Content, inserted...)
			continue
		}
		ev, err := e.value(sc, item)
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, ev)
	}
	return out, nil
}

// template inserts `- template: FILE` with its parameters bound.
func (e *expander) template(sc *scope, item *yaml.Node) ([]*yaml.Node, error) {
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > 20 {
		return nil, fmt.Errorf("%s: templates nested more than 20 deep", sc.file)
	}
	ref, err := e.scalar(sc, mappingValue(item, "template"))
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		if k := item.Content[i].Value; k != "template" && k != "parameters" {
			return nil, fmt.Errorf("%s: template %s: unexpected key %q beside template/parameters", sc.file, ref.Value, k)
		}
	}
	rel := filepath.Join(filepath.Dir(sc.file), ref.Value)
	if strings.HasPrefix(ref.Value, "/") {
		rel = strings.TrimPrefix(ref.Value, "/")
	}
	doc, err := readNode(filepath.Join(e.root, rel))
	if err != nil {
		return nil, fmt.Errorf("%s: template %s: %w", sc.file, ref.Value, err)
	}
	decls, err := declaredParameters(rel, mappingValue(doc, "parameters"))
	if err != nil {
		return nil, err
	}
	bound := map[string]any{}
	for k, v := range decls.defaults {
		bound[k] = v
	}
	given := map[string]bool{}
	if p := mappingValue(item, "parameters"); p != nil {
		ep, err := e.value(sc, p)
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(ep.Content); i += 2 {
			name := ep.Content[i].Value
			typ, declared := decls.types[name]
			if !declared {
				return nil, fmt.Errorf("%s: template %s has no parameter %q", sc.file, ref.Value, name)
			}
			bound[name] = typedValue(typ, ep.Content[i+1])
			given[name] = true
		}
	}
	for name := range decls.required {
		if !given[name] {
			return nil, fmt.Errorf("%s: template %s: required parameter %q is not given", sc.file, ref.Value, name)
		}
	}
	inner := &scope{file: rel, params: bound}
	var body *yaml.Node
	for _, key := range []string{"steps", "jobs", "stages", "variables"} {
		if b := mappingValue(doc, key); b != nil {
			body = b
			if key == "variables" {
				ev, err := e.variablesList(inner, b)
				if err != nil {
					return nil, err
				}
				return variableItems(ev), nil
			}
		}
	}
	if body == nil {
		return nil, fmt.Errorf("%s: template %s has no steps, jobs, stages or variables", sc.file, ref.Value)
	}
	ev, err := e.value(inner, body)
	if err != nil {
		return nil, err
	}
	if ev.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: template %s: its body is not a list", sc.file, ref.Value)
	}
	return ev.Content, nil
}

// variableItems returns a variables section as list items ({name, value}),
// the form a variables template is inserted in.
func variableItems(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.MappingNode {
		return n.Content
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
			scalar("name"), n.Content[i], scalar("value"), n.Content[i+1],
		}})
	}
	return out
}

// --- expressions ---

type exprParser struct {
	s   string
	pos int
	e   *expander
	sc  *scope
}

func (e *expander) eval(sc *scope, expr string) (any, error) {
	p := &exprParser{s: expr, e: e, sc: sc}
	v, err := p.expr()
	if err != nil {
		return nil, fmt.Errorf("%s: ${{ %s }}: %w", sc.file, strings.TrimSpace(expr), err)
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("%s: ${{ %s }}: unexpected %q", sc.file, strings.TrimSpace(expr), p.s[p.pos:])
	}
	return v, nil
}

func (p *exprParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *exprParser) expr() (any, error) {
	p.space()
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("empty expression")
	}
	c := p.s[p.pos]
	switch {
	case c == '\'':
		end := p.pos + 1
		var b strings.Builder
		for end < len(p.s) {
			if p.s[end] == '\'' {
				if end+1 < len(p.s) && p.s[end+1] == '\'' {
					b.WriteByte('\'')
					end += 2
					continue
				}
				break
			}
			b.WriteByte(p.s[end])
			end++
		}
		if end >= len(p.s) {
			return nil, fmt.Errorf("unterminated string")
		}
		p.pos = end + 1
		return b.String(), nil
	case c >= '0' && c <= '9' || c == '-':
		start := p.pos
		for p.pos < len(p.s) && strings.ContainsRune("0123456789.-", rune(p.s[p.pos])) {
			p.pos++
		}
		return strconv.ParseFloat(p.s[start:p.pos], 64)
	}
	start := p.pos
	for p.pos < len(p.s) && (isIdent(p.s[p.pos]) || p.s[p.pos] == '.') {
		p.pos++
	}
	word := p.s[start:p.pos]
	if word == "" {
		return nil, fmt.Errorf("unexpected %q", p.s[p.pos:])
	}
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		p.pos++
		var args []any
		for {
			p.space()
			if p.pos < len(p.s) && p.s[p.pos] == ')' {
				p.pos++
				break
			}
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			p.space()
			if p.pos < len(p.s) && p.s[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.s) && p.s[p.pos] == ')' {
				p.pos++
				break
			}
			return nil, fmt.Errorf("expected , or ) in %s(...)", word)
		}
		return call(strings.ToLower(word), args)
	}
	// Index syntax: variables['name'].
	if p.pos < len(p.s) && p.s[p.pos] == '[' {
		p.pos++
		k, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != ']' {
			return nil, fmt.Errorf("expected ]")
		}
		p.pos++
		word += "." + toString(k)
	}
	return p.lookup(word)
}

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (p *exprParser) lookup(path string) (any, error) {
	switch strings.ToLower(path) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return "", nil
	}
	head, rest, _ := strings.Cut(path, ".")
	switch head {
	case "parameters":
		v, ok := p.sc.params[rest]
		if !ok {
			return nil, fmt.Errorf("no parameter %q", rest)
		}
		return v, nil
	case "variables":
		v, ok := p.e.variables[rest]
		if !ok {
			return nil, fmt.Errorf("no compile-time variable %q (only variables defined in the pipeline or its variable templates are known to ${{ }})", rest)
		}
		return v, nil
	}
	if v, ok := p.sc.loop[head]; ok {
		kv, isKV := v.(keyValue)
		switch {
		case rest == "":
			return v, nil
		case isKV && rest == "key":
			return kv.key, nil
		case isKV && rest == "value":
			return kv.value, nil
		}
		return nil, fmt.Errorf("%s has no %q", head, rest)
	}
	return nil, fmt.Errorf("unknown name %q (this check knows parameters, variables and each-variables)", path)
}

func call(fn string, args []any) (any, error) {
	want := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("%s takes %d arguments, got %d", fn, n, len(args))
		}
		return nil
	}
	switch fn {
	case "eq", "ne":
		if err := want(2); err != nil {
			return nil, err
		}
		eq := equal(args[0], args[1])
		if fn == "ne" {
			return !eq, nil
		}
		return eq, nil
	case "not":
		if err := want(1); err != nil {
			return nil, err
		}
		return !truthy(args[0]), nil
	case "and":
		for _, a := range args {
			if !truthy(a) {
				return false, nil
			}
		}
		return true, nil
	case "or":
		for _, a := range args {
			if truthy(a) {
				return true, nil
			}
		}
		return false, nil
	case "coalesce":
		for _, a := range args {
			if toString(a) != "" {
				return a, nil
			}
		}
		return "", nil
	case "join":
		if err := want(2); err != nil {
			return nil, err
		}
		sep := toString(args[0])
		node, ok := args[1].(*yaml.Node)
		if !ok {
			return toString(args[1]), nil
		}
		var parts []string
		switch node.Kind {
		case yaml.SequenceNode:
			for _, c := range node.Content {
				if c.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("join: the list holds a %s", kindName(c))
				}
				parts = append(parts, c.Value)
			}
		case yaml.ScalarNode:
			return node.Value, nil
		default:
			return nil, fmt.Errorf("join of a mapping")
		}
		return strings.Join(parts, sep), nil
	}
	return nil, fmt.Errorf("function %s is not supported by this check", fn)
}

// equal compares as Azure does: the right side converted to the left's
// type; strings case-insensitively.
func equal(a, b any) bool {
	switch av := a.(type) {
	case bool:
		return av == truthy(b)
	case float64:
		f, err := strconv.ParseFloat(toString(b), 64)
		return err == nil && f == av
	}
	return strings.EqualFold(toString(a), toString(b))
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && !strings.EqualFold(x, "false")
	case *yaml.Node:
		switch x.Kind {
		case yaml.ScalarNode:
			return truthy(x.Value)
		default:
			return len(x.Content) > 0
		}
	}
	return v != nil
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *yaml.Node:
		if x.Kind == yaml.ScalarNode {
			return x.Value
		}
		return ""
	case keyValue:
		return x.key
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
