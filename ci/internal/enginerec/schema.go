package enginerec

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Field is one field of the engine's API as the SDK's generated client
// selects it: either an object (Object names its type) or a leaf of the Go
// type the SDK decodes the answer into (Leaf: int, string, []string, bool, ID,
// Platform, JSON, ...).
type Field struct {
	Name   string
	Object string
	Leaf   string
}

// Schema is the engine API the SDK speaks: per GraphQL type (the Go type
// name of the generated client, Query for the root), its fields.
type Schema struct {
	types map[string]map[string]Field
}

// Lookup returns the field of a type.
func (s *Schema) Lookup(typ, field string) (Field, bool) {
	f, ok := s.types[typ][field]
	return f, ok
}

// LoadSchema reads the types of the engine API from the SDK's generated
// client (dagger.gen.go in sdkDir, the dagger.io/dagger package directory):
// each method that selects a field names the field, its result type says
// whether it is an object or a leaf, and the variable the answer is decoded
// into gives the leaf's type. Nothing is written by hand.
func LoadSchema(sdkDir string) (*Schema, error) {
	path := filepath.Join(sdkDir, "dagger.gen.go")
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("read the SDK's generated API: %w", err)
	}
	s := &Schema{types: map[string]map[string]Field{}}
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil || len(fn.Recv.List) != 1 {
			continue
		}
		recv := typeName(fn.Recv.List[0].Type)
		if recv == "" {
			continue
		}
		name := selectedField(fn.Body)
		if name == "" {
			continue
		}
		f := Field{Name: name}
		if leaf := responseType(fn.Body); leaf != "" {
			f.Leaf = leaf
		} else if fn.Type.Results != nil && len(fn.Type.Results.List) > 0 {
			switch res := fn.Type.Results.List[0].Type.(type) {
			case *ast.StarExpr: // an object
				f.Object = typeName(res)
			case *ast.Ident: // an interface such as Node, narrowed by an inline fragment
				if ast.IsExported(res.Name) {
					f.Object = res.Name
				}
			}
		}
		if f.Leaf == "" && f.Object == "" {
			continue
		}
		if s.types[recv] == nil {
			s.types[recv] = map[string]Field{}
		}
		if _, dup := s.types[recv][name]; !dup {
			s.types[recv][name] = f
		}
	}
	if _, ok := s.Lookup("Query", "container"); !ok {
		return nil, fmt.Errorf("%s: no Query.container field found; is this the dagger.io/dagger package?", path)
	}
	return s, nil
}

// typeName is T for T or *T.
func typeName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// selectedField is the literal of the first q.Select("name") call in body.
func selectedField(body *ast.BlockStmt) string {
	var name string
	ast.Inspect(body, func(n ast.Node) bool {
		if name != "" {
			return false
		}
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Select" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil {
				name = v
			}
		}
		return true
	})
	return name
}

// responseType is the type of the variable the SDK decodes a leaf into
// (`var response T`, or `var id ID` for sync-like fields returning an object by ID).
func responseType(body *ast.BlockStmt) string {
	var t string
	ast.Inspect(body, func(n ast.Node) bool {
		if t != "" {
			return false
		}
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Type == nil {
			return true
		}
		if v := vs.Names[0].Name; v != "response" && v != "id" {
			return true
		}
		t = exprString(vs.Type)
		return false
	})
	return t
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.ArrayType:
		return "[]" + exprString(x.Elt)
	case *ast.StarExpr:
		return "*" + exprString(x.X)
	}
	return strings.TrimSpace(fmt.Sprintf("%T", e))
}

// SDKDir locates the dagger.io/dagger package the module in dir requires.
func SDKDir(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", "dagger.io/dagger")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate dagger.io/dagger (is it required in go.mod?): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
