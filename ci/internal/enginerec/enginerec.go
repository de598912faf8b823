// Package enginerec is a recording stand-in for a Dagger engine's session
// API, for narrow unit tests of a module's wiring without an engine.
//
// It speaks the session protocol as dagger.io/dagger connects to it: GraphQL
// over HTTP at http://127.0.0.1:PORT/query, the session token as the basic-auth
// user (DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN, see Env). It answers
// every query the SDK's query builder sends with a value of the type the SDK
// decodes it into (the types come from the SDK's generated client, see
// LoadSchema): an object's id is an ID naming the query chain that built it,
// leaves (exit codes, file contents, stdout, entries) are scripted by the test
// with Rules or get a zero value. It records every request.
//
// It runs nothing. A test built on it shows which containers, execs, secrets,
// caches and services the module asks the engine for and in what order, and
// what identity (the canonical query chain) each exec has; it does not show
// that the module works on an engine.
package enginerec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// idPrefix starts every ID the recorder hands out.
const idPrefix = "enginerec-id:"

// secretPrefix starts every secret ID made by Secret.
const secretPrefix = "enginerec-secret:"

// Rule scripts an answer: it returns the value for a leaf call and true, or
// false to leave the call to the next rule (and finally to the zero value of
// the leaf's type). A value of type Error answers with a GraphQL error.
type Rule func(c Call) (any, bool)

// Error is a scripted GraphQL error answer.
type Error struct{ Message string }

// Recorder is a running stand-in engine.
type Recorder struct {
	schema *Schema
	token  string
	ln     net.Listener
	srv    *http.Server

	mu       sync.Mutex
	rules    []Rule
	requests []string
	calls    []Call
	ids      map[string]Chain // ID -> the chain it names
	idOf     map[string]string
	secrets  map[string]string // secret ID -> value
}

// Start listens on a free loopback port and serves the session API.
func Start(ctx context.Context, schema *Schema) (*Recorder, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the session API: %w", err)
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("session token: %w", err)
	}
	r := &Recorder{
		schema: schema, token: hex.EncodeToString(tok), ln: ln,
		ids: map[string]Chain{}, idOf: map[string]string{}, secrets: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/query", r.serve)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops serving.
func (r *Recorder) Close() error { return r.srv.Close() }

// Env is the environment that points dagger.Connect at the recorder.
func (r *Recorder) Env() map[string]string {
	return map[string]string{
		"DAGGER_SESSION_PORT":  strconv.Itoa(r.ln.Addr().(*net.TCPAddr).Port),
		"DAGGER_SESSION_TOKEN": r.token,
	}
}

// Reset forgets the recorded requests and the rules (IDs and secrets stay
// valid, as in one engine session).
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = nil
	r.requests = nil
	r.calls = nil
}

// Answer adds rules; earlier rules win.
func (r *Recorder) Answer(rules ...Rule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, rules...)
}

// Secret registers a secret the way the CLI hands one to a function (an ID
// the engine resolves; the value never travels in a request) and returns its ID.
func (r *Recorder) Secret(name, value string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := secretPrefix + name
	r.secrets[id] = value
	return id
}

// Requests returns the raw bodies of every request received since Reset.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

// Calls returns every leaf call answered since Reset, in arrival order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Leaks returns the requests holding the value of a registered secret.
func (r *Recorder) Leaks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, req := range r.requests {
		for _, v := range r.secrets {
			if v != "" && strings.Contains(req, v) {
				out = append(out, req)
			}
		}
	}
	return out
}

// Execs returns every distinct withExec in the chains of the recorded
// calls, in the order they were first seen, each with its identity.
func (r *Recorder) Execs() []Exec {
	calls := r.Calls()
	seen := map[string]bool{}
	var out []Exec
	for _, c := range calls {
		for i, s := range c.Chain {
			if s.Field != "withExec" {
				continue
			}
			e := Exec{Args: s.List("args"), Chain: c.Chain[:i+1]}
			e.Identity = e.Chain.String()
			if seen[e.Identity] {
				continue
			}
			seen[e.Identity] = true
			out = append(out, e)
		}
	}
	return out
}

// Exec is one withExec the module built.
type Exec struct {
	Args []string
	// Chain is the query chain from the root through this withExec.
	Chain Chain
	// Identity is the canonical text of Chain, IDs replaced by the chains they
	// name: two execs the engine would cache as one have the same identity.
	Identity string
}

type gqlRequest struct {
	Query         string          `json:"query"`
	Variables     json.RawMessage `json:"variables"`
	OperationName string          `json:"operationName"`
}

type gqlError struct {
	Message string `json:"message"`
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	user, _, ok := req.BasicAuth()
	if !ok || user != r.token {
		http.Error(w, "unauthorized: the session token is the basic-auth user", http.StatusUnauthorized)
		return
	}
	if req.Method != http.MethodPost {
		http.Error(w, "POST a GraphQL request", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, string(body))
	r.mu.Unlock()
	var q gqlRequest
	if err := json.Unmarshal(body, &q); err != nil {
		writeJSON(w, map[string]any{"errors": []gqlError{{Message: "decode request: " + err.Error()}}})
		return
	}
	data, err := r.answer(q.Query)
	if err != nil {
		writeJSON(w, map[string]any{"data": nil, "errors": []gqlError{{Message: err.Error()}}})
		return
	}
	writeJSON(w, map[string]any{"data": data})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// answer parses a query of the shape the SDK's query builder writes (one
// field per level, possibly an inline fragment, one or more leaves at the end)
// and builds the nested answer.
func (r *Recorder) answer(query string) (any, error) {
	doc, gerr := parser.ParseQuery(&ast.Source{Input: query})
	if gerr != nil {
		return nil, fmt.Errorf("parse query: %w", gerr)
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("want one operation, got %d", len(doc.Operations))
	}
	return r.walk("Query", nil, doc.Operations[0].SelectionSet)
}

func (r *Recorder) walk(typ string, chain Chain, set ast.SelectionSet) (any, error) {
	out := map[string]any{}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.InlineFragment:
			if len(set) != 1 {
				return nil, errors.New("an inline fragment must be the only selection")
			}
			return r.walk(s.TypeCondition, chain, s.SelectionSet)
		case *ast.Field:
			f, ok := r.schema.Lookup(typ, s.Name)
			if !ok {
				return nil, fmt.Errorf("cannot query field %q on type %q", s.Name, typ)
			}
			step, err := r.step(s)
			if err != nil {
				return nil, err
			}
			key := s.Name
			if s.Alias != "" {
				key = s.Alias
			}
			if f.Object != "" || len(s.SelectionSet) > 0 {
				if len(set) != 1 {
					return nil, fmt.Errorf("object field %q must be the only selection at its level", s.Name)
				}
				next := r.extend(chain, step)
				nextType := f.Object
				if nextType == "" {
					nextType = typ
				}
				v, err := r.walk(nextType, next, s.SelectionSet)
				if err != nil {
					return nil, err
				}
				out[key] = v
				continue
			}
			v, err := r.leaf(Call{Type: typ, Chain: chain, Leaf: step, LeafType: f.Leaf})
			if err != nil {
				return nil, err
			}
			out[key] = v
		default:
			return nil, fmt.Errorf("unsupported selection %T", sel)
		}
	}
	return out, nil
}

// extend appends step to chain; a load of an ID (node, loadXFromID) the
// recorder handed out continues the chain that ID names instead.
func (r *Recorder) extend(chain Chain, step Step) Chain {
	if step.Field == "node" || (strings.HasPrefix(step.Field, "load") && strings.HasSuffix(step.Field, "FromID")) {
		r.mu.Lock()
		named, ok := r.ids[step.String1("id")]
		r.mu.Unlock()
		if ok {
			return append(Chain(nil), named...)
		}
	}
	return append(append(Chain(nil), chain...), step)
}

func (r *Recorder) leaf(c Call) (any, error) {
	r.mu.Lock()
	rules := append([]Rule(nil), r.rules...)
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	for _, rule := range rules {
		if v, ok := rule(c); ok {
			if e, isErr := v.(Error); isErr {
				return nil, errors.New(e.Message)
			}
			return v, nil
		}
	}
	switch c.LeafType {
	case "ID":
		return r.idFor(c.Chain), nil
	case "int", "float64":
		return 0, nil
	case "bool":
		return false, nil
	case "Platform":
		return "linux/amd64", nil
	case "Void":
		return nil, nil
	case "JSON":
		return "null", nil
	}
	if strings.HasPrefix(c.LeafType, "[]") {
		return []any{}, nil
	}
	return "", nil
}

// idFor hands out the ID of a chain: the same chain always gets the same ID.
func (r *Recorder) idFor(chain Chain) string {
	text := chain.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.idOf[text]; ok {
		return id
	}
	id := idPrefix + strconv.Itoa(len(r.idOf)+1)
	r.idOf[text] = id
	r.ids[id] = append(Chain(nil), chain...)
	return id
}

// step turns a parsed field into its canonical step: arguments sorted by
// name, IDs the recorder handed out replaced by the chains they name.
func (r *Recorder) step(f *ast.Field) (Step, error) {
	s := Step{Field: f.Name}
	for _, a := range f.Arguments {
		v, err := a.Value.Value(nil)
		if err != nil {
			return Step{}, fmt.Errorf("argument %s of %s: %w", a.Name, f.Name, err)
		}
		s.Args = append(s.Args, Arg{Name: a.Name, Value: v, Text: r.canonical(a.Value)})
	}
	sort.Slice(s.Args, func(i, j int) bool { return s.Args[i].Name < s.Args[j].Name })
	return s, nil
}

func (r *Recorder) canonical(v *ast.Value) string {
	switch v.Kind {
	case ast.StringValue, ast.BlockValue:
		r.mu.Lock()
		named, ok := r.ids[v.Raw]
		r.mu.Unlock()
		if ok {
			return "<" + named.String() + ">"
		}
		return strconv.Quote(v.Raw)
	case ast.ListValue:
		parts := make([]string, len(v.Children))
		for i, c := range v.Children {
			parts[i] = r.canonical(c.Value)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case ast.ObjectValue:
		parts := make([]string, len(v.Children))
		for i, c := range v.Children {
			parts[i] = c.Name + ":" + r.canonical(c.Value)
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ",") + "}"
	case ast.NullValue:
		return "null"
	}
	return v.Raw
}
