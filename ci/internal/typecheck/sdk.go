package typecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SDK is the exported API of dagger.io/dagger, loaded with go/types from the
// compiler's export data of the version the module requires.
type SDK struct {
	Version string
	Pkg     *types.Package
}

// loadSDK compiles (or reuses from the build cache) the SDK the module in dir
// requires and loads its exported API.
func loadSDK(ctx context.Context, dir string) (*SDK, error) {
	pkg, err := listSDK(ctx, dir)
	if err != nil {
		return nil, err
	}
	out, err := goCmd(ctx, dir, "list", "-export", "-deps", "-json=ImportPath,Export", SDKPath)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w\n%s", SDKPath, err, out)
	}
	exports := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list -export %s: %w", SDKPath, err)
		}
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(filepath.Clean(f))
	})
	tp, err := imp.Import(SDKPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", SDKPath, err)
	}
	return &SDK{Version: pkg.Module.Version, Pkg: tp}, nil
}

// moduleOnlyNames are SDK functions whose module-code counterparts have a
// different signature; the stand-in defines those itself.
var moduleOnlyNames = map[string]bool{"Connect": true}

// aliases writes an alias for every exported object of the SDK package.
func (s *SDK) aliases(w *bytes.Buffer, skip map[string]bool) (skipped []string) {
	qual := func(p *types.Package) string {
		if p == s.Pkg {
			return "dagger"
		}
		return p.Name()
	}
	scope := s.Pkg.Scope()
	names := scope.Names()
	sort.Strings(names)
	for _, name := range names {
		obj := scope.Lookup(name)
		if !obj.Exported() || moduleOnlyNames[name] || skip[name] {
			continue
		}
		switch o := obj.(type) {
		case *types.TypeName:
			var params, args []string
			if named, ok := o.Type().(*types.Named); ok && named.TypeParams().Len() > 0 {
				for tp := range named.TypeParams().TypeParams() {
					if !importable(tp.Constraint(), s.Pkg) {
						skipped = append(skipped, name)
						params = nil
						break
					}
					params = append(params, tp.Obj().Name()+" "+types.TypeString(tp.Constraint(), qual))
					args = append(args, tp.Obj().Name())
				}
				if params == nil {
					continue
				}
				fmt.Fprintf(w, "type %s[%s] = dagger.%s[%s]\n", name, strings.Join(params, ", "), name, strings.Join(args, ", "))
				continue
			}
			fmt.Fprintf(w, "type %s = dagger.%s\n", name, name)
		case *types.Const:
			fmt.Fprintf(w, "const %s = dagger.%s\n", name, name)
		case *types.Var:
			fmt.Fprintf(w, "var %s = dagger.%s\n", name, name)
		case *types.Func:
			if sig, ok := o.Type().(*types.Signature); ok && sig.TypeParams().Len() > 0 {
				// A generic function cannot be a variable; module code reaches
				// Ref and Load through the SDK itself.
				skipped = append(skipped, name)
				continue
			}
			fmt.Fprintf(w, "var %s = dagger.%s\n", name, name)
		}
	}
	return skipped
}

// importable reports whether a constraint mentions only the SDK package and
// predeclared types, so it can be written in the stand-in.
func importable(t types.Type, sdk *types.Package) bool {
	ok := true
	s := types.TypeString(t, func(p *types.Package) string {
		if p != sdk {
			ok = false
		}
		return p.Name()
	})
	_ = s
	return ok
}
