package modinfo

import (
	"fmt"
	"sort"
	"strings"
)

// scalarTypes are the argument and result types Dagger maps to GraphQL scalars.
var scalarTypes = map[string]bool{
	"string": true, "int": true, "bool": true, "float64": true, "dagger.Platform": true, "dagger.JSON": true,
}

// coreObjectTypes are the core API types a module function may take or return.
var coreObjectTypes = map[string]bool{
	"Directory": true, "File": true, "Secret": true, "Service": true, "Container": true, "CacheVolume": true,
	"Socket": true, "GitRepository": true, "GitRef": true,
}

// supportedType reports whether Dagger can expose a Go type of this module.
func (m *Module) supportedType(t string) bool {
	t = strings.TrimPrefix(t, "[]")
	if scalarTypes[t] {
		return true
	}
	if strings.HasPrefix(t, "*dagger.") {
		return coreObjectTypes[strings.TrimPrefix(t, "*dagger.")]
	}
	if strings.HasPrefix(t, "*") {
		_, ok := m.Objects[strings.TrimPrefix(t, "*")]
		return ok
	}
	return false
}

// Lint returns the problems that make a module read badly in `dagger call
// --help` or behave wrongly: an exported function, argument or exposed field
// without a doc comment; a type Dagger cannot expose; a function in
// sideEffects (Go names) without +cache="never".
func Lint(m *Module, sideEffects []string) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	funcs := []*Function{}
	if m.Constructor != nil {
		funcs = append(funcs, m.Constructor)
	} else {
		add("no constructor New")
	}
	names := make([]string, 0, len(m.Objects))
	for n := range m.Objects {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := m.Objects[n]
		if o.Doc == "" {
			add("type %s: no doc comment", o.Name)
		}
		for _, f := range o.Fields {
			if !f.Private && f.Doc == "" {
				add("%s.%s: exposed field without a doc comment (document it, or mark it // +private)", o.Name, f.Name)
			}
		}
		funcs = append(funcs, o.Functions...)
	}
	for _, f := range funcs {
		name := f.GoName
		if f.Receiver != "" {
			name = f.Receiver + "." + f.GoName
		}
		if f.Doc == "" {
			add("%s: no doc comment (%s)", name, f.Pos)
		}
		for _, a := range f.Args {
			if a.Doc == "" {
				add("%s argument %s: no doc comment (%s)", name, a.GoName, a.Pos)
			}
		}
	}
	problems = append(problems, TypeProblems(m)...)
	for _, se := range sideEffects {
		found := false
		for _, f := range funcs {
			if f.GoName != se || f.Receiver == "" {
				continue
			}
			found = true
			if f.Pragmas["cache"] != `"never"` {
				add("%s.%s has side effects but no +cache=\"never\": Dagger would cache and skip it", f.Receiver, f.GoName)
			}
		}
		if !found {
			add("side-effecting function %s not found", se)
		}
	}
	return problems
}

// TypeProblems returns the arguments and results of the module's functions
// whose types Dagger cannot expose, and functions with more than one result
// besides an error.
func TypeProblems(m *Module) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	funcs := []*Function{}
	if m.Constructor != nil {
		funcs = append(funcs, m.Constructor)
	}
	names := make([]string, 0, len(m.Objects))
	for n := range m.Objects {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		funcs = append(funcs, m.Objects[n].Functions...)
	}
	for _, f := range funcs {
		name := f.GoName
		if f.Receiver != "" {
			name = f.Receiver + "." + f.GoName
		}
		for _, a := range f.Args {
			if !m.supportedType(a.Type) {
				add("%s argument %s: type %s cannot be a Dagger argument (%s)", name, a.GoName, a.Type, a.Pos)
			}
		}
		results := f.Results
		if len(results) > 0 && results[len(results)-1] == "error" {
			results = results[:len(results)-1]
		}
		switch {
		case len(results) > 1:
			add("%s: returns %d values; a Dagger function returns one value and optionally an error (%s)", name, len(results), f.Pos)
		case len(results) == 1 && !m.supportedType(results[0]):
			add("%s: result type %s cannot be returned by a Dagger function (%s)", name, results[0], f.Pos)
		}
	}
	return problems
}
