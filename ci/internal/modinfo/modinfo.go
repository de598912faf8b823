// Package modinfo reads a Dagger Go module's source the way the Dagger Go SDK
// does, without an engine: the main object, its constructor, its functions,
// their arguments with doc comments and pragmas (+optional, +default,
// +defaultPath, +ignore, +cache), and the names the Dagger CLI gives them
// (kebab-case functions and flags). The pipeline's own checks use it: every
// function and argument documented, side effects never cached, and every
// `dagger call` in azure-pipelines.yml naming a real function and flag.
package modinfo

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Module is the API of a Dagger Go module.
type Module struct {
	Name        string // module name from dagger.json, e.g. "pipeline"
	MainObject  string // Go type of the main object, e.g. "Pipeline"
	Constructor *Function
	Objects     map[string]*Object // by Go type name, main object included
}

// Object is a Go struct type the module exposes.
type Object struct {
	Name      string
	Doc       string
	Fields    []Field
	Functions []*Function
}

// Field is an exported field of an object.
type Field struct {
	Name    string // Go name
	Type    string
	Doc     string
	Private bool // +private: kept in state, not exposed
}

// Function is a function of an object (or the constructor).
type Function struct {
	GoName   string
	Receiver string // Go type of the receiver; empty for the constructor
	Doc      string // doc comment without pragma lines
	Pragmas  map[string]string
	Args     []Arg
	HasCtx   bool
	Results  []string // result types, as written
	Pos      token.Position
}

// Arg is an argument of a function.
type Arg struct {
	GoName  string // as written, e.g. dbPassword
	Type    string // as written, e.g. *dagger.Secret
	Doc     string
	Pragmas map[string]string
	Pos     token.Position
}

// CLIName is the kebab-case name the Dagger CLI uses for the function.
func (f *Function) CLIName() string { return Kebab(f.GoName) }

// Optional reports whether the argument may be omitted.
func (a Arg) Optional() bool {
	for _, p := range []string{"optional", "default", "defaultPath"} {
		if _, ok := a.Pragmas[p]; ok {
			return true
		}
	}
	return false
}

// Flag is the kebab-case CLI flag of the argument, without the dashes.
func (a Arg) Flag() string { return Kebab(a.GoName) }

// IsSecret reports whether the argument is a *dagger.Secret.
func (a Arg) IsSecret() bool { return a.Type == "*dagger.Secret" }

// Arg returns the argument with CLI flag name flag.
func (f *Function) Arg(flag string) (Arg, bool) {
	for _, a := range f.Args {
		if a.Flag() == flag {
			return a, true
		}
	}
	return Arg{}, false
}

// Function returns the function of object obj with CLI name name.
func (m *Module) Function(obj, name string) (*Function, bool) {
	o, ok := m.Objects[obj]
	if !ok {
		return nil, false
	}
	for _, f := range o.Functions {
		if f.CLIName() == name {
			return f, true
		}
	}
	return nil, false
}

// Load parses the module whose dagger.json is in root and whose Go source is
// in root/<source> (dagger.json's "source", default ".").
func Load(root string) (*Module, error) {
	cfg, err := ReadConfig(root)
	if err != nil {
		return nil, err
	}
	return LoadSource(filepath.Join(root, cfg.Source), cfg.Name)
}

// LoadSource parses the Go package in dir as the module named name.
func LoadSource(dir, name string) (*Module, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read module source %s: %w", dir, err)
	}
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || n == "dagger.gen.go" {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse module source: %w", err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("module source %s has no Go files", dir)
	}
	m := &Module{Name: name, MainObject: Pascal(name), Objects: map[string]*Object{}}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok || !ts.Name.IsExported() {
					continue
				}
				doc := ts.Doc
				if doc == nil {
					doc = gd.Doc
				}
				o := &Object{Name: ts.Name.Name, Doc: docText(doc)}
				for _, fld := range st.Fields.List {
					for _, n := range fld.Names {
						if !n.IsExported() {
							continue
						}
						text, pragmas := splitDoc(fld.Doc)
						_, private := pragmas["private"]
						o.Fields = append(o.Fields, Field{Name: n.Name, Type: exprString(fset, fld.Type), Doc: text, Private: private})
					}
				}
				m.Objects[o.Name] = o
			}
		}
	}
	if _, ok := m.Objects[m.MainObject]; !ok {
		return nil, fmt.Errorf("module %q: no main object type %s in %s", name, m.MainObject, dir)
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			fn := parseFunc(fset, f, fd)
			switch {
			case fd.Recv == nil && fd.Name.Name == "New":
				m.Constructor = fn
			case fd.Recv != nil:
				if o, ok := m.Objects[fn.Receiver]; ok {
					o.Functions = append(o.Functions, fn)
				}
			}
		}
	}
	for _, o := range m.Objects {
		sort.Slice(o.Functions, func(i, j int) bool { return o.Functions[i].GoName < o.Functions[j].GoName })
	}
	return m, nil
}

func parseFunc(fset *token.FileSet, file *ast.File, fd *ast.FuncDecl) *Function {
	text, pragmas := splitDoc(fd.Doc)
	fn := &Function{GoName: fd.Name.Name, Doc: text, Pragmas: pragmas, Pos: fset.Position(fd.Pos())}
	if fd.Recv != nil && len(fd.Recv.List) == 1 {
		t := fd.Recv.List[0].Type
		if star, ok := t.(*ast.StarExpr); ok {
			t = star.X
		}
		if id, ok := t.(*ast.Ident); ok {
			fn.Receiver = id.Name
		}
	}
	prevEnd := fd.Type.Params.Opening
	for _, p := range fd.Type.Params.List {
		typ := exprString(fset, p.Type)
		if typ == "context.Context" {
			fn.HasCtx = true
			prevEnd = p.End()
			continue
		}
		doc := p.Doc
		if doc == nil {
			doc = commentBefore(fset, file, prevEnd, p.Pos())
		}
		text, prag := splitDoc(doc)
		for _, n := range p.Names {
			fn.Args = append(fn.Args, Arg{GoName: n.Name, Type: typ, Doc: text, Pragmas: prag, Pos: fset.Position(n.Pos())})
		}
		prevEnd = p.End()
	}
	if fd.Type.Results != nil {
		for _, r := range fd.Type.Results.List {
			n := len(r.Names)
			if n == 0 {
				n = 1
			}
			for range n {
				fn.Results = append(fn.Results, exprString(fset, r.Type))
			}
		}
	}
	return fn
}

// commentBefore returns the comment group between after and pos that ends
// on the line before pos: the doc comment of a parameter.
func commentBefore(fset *token.FileSet, file *ast.File, after, pos token.Pos) *ast.CommentGroup {
	line := fset.Position(pos).Line
	var found *ast.CommentGroup
	for _, cg := range file.Comments {
		if cg.Pos() > after && cg.End() < pos && fset.Position(cg.End()).Line == line-1 {
			found = cg
		}
	}
	return found
}

var pragmaPattern = regexp.MustCompile(`^\+([A-Za-z]+)(?:=(.*))?$`)

// splitDoc separates a comment's text from its +pragma lines.
func splitDoc(cg *ast.CommentGroup) (string, map[string]string) {
	pragmas := map[string]string{}
	if cg == nil {
		return "", pragmas
	}
	var lines []string
	for _, l := range strings.Split(cg.Text(), "\n") {
		t := strings.TrimSpace(l)
		if m := pragmaPattern.FindStringSubmatch(t); m != nil {
			pragmas[m[1]] = m[2]
			continue
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n")), pragmas
}

func docText(cg *ast.CommentGroup) string {
	t, _ := splitDoc(cg)
	return t
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b bytes.Buffer
	if err := printer.Fprint(&b, fset, e); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return b.String()
}

// Kebab converts a Go or GraphQL name to the Dagger CLI's kebab-case:
// UnitTest -> unit-test, dbPassword -> db-password, sourceURL -> source-url.
func Kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		if r == '_' {
			b.WriteByte('-')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Pascal converts a module name such as "pipeline" or "my-module" to its Go type name.
func Pascal(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '-' || r == '_' || r == ' ' {
			up = true
			continue
		}
		if up {
			b.WriteRune(unicode.ToUpper(r))
			up = false
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// commonInitialisms are the words Dagger's Go code generator writes in
// capitals in Go names (httpAuthUsername -> HTTPAuthUsername).
var commonInitialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true, "EOF": true, "GUID": true,
	"HTML": true, "HTTP": true, "HTTPS": true, "ID": true, "IP": true, "JSON": true, "LHS": true, "QPS": true,
	"RAM": true, "RHS": true, "RPC": true, "SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true,
	"TLS": true, "TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true, "URI": true, "URL": true,
	"UTF8": true, "VM": true, "XML": true, "XMPP": true, "XSRF": true, "XSS": true,
}

// GoField returns the Go name Dagger's code generator gives an argument in an
// options struct: dbPassword -> DbPassword, plainHttp -> PlainHTTP.
func GoField(name string) string {
	words := strings.Split(Kebab(name), "-")
	var b strings.Builder
	for _, w := range words {
		if w == "" {
			continue
		}
		if up := strings.ToUpper(w); commonInitialisms[up] {
			b.WriteString(up)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
