package pipelinecheck

import (
	"regexp"
	"strings"

	"dagger/pipeline/internal/modinfo"
)

// secretValue is how a secret argument must be given to the Dagger CLI.
var secretValue = regexp.MustCompile(`^(env|file|cmd):\S+$`)

// macro is an Azure Pipelines variable reference such as $(cosign-key).
var macro = regexp.MustCompile(`^\$\([A-Za-z0-9_.-]+\)$`)

// flagArg is one --flag [value] of a dagger call.
type flagArg struct {
	name, value string
	hasValue    bool
}

// splitFlags splits "--flag value" strings and inline --flag=value forms.
// fn tells which flags are booleans (they take no separate value).
func splitFlags(words []string, fn *modinfo.Function) (flags []flagArg, rest []string) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "--") {
			return flags, words[i:]
		}
		name := strings.TrimPrefix(w, "--")
		if n, v, ok := strings.Cut(name, "="); ok {
			flags = append(flags, flagArg{name: n, value: v, hasValue: true})
			continue
		}
		isBool := false
		if fn != nil {
			if a, ok := fn.Arg(name); ok && a.Type == "bool" {
				isBool = true
			}
		}
		if next := i + 1; !isBool && next < len(words) {
			flags = append(flags, flagArg{name: name, value: words[next], hasValue: true})
			i = next
			continue
		}
		flags = append(flags, flagArg{name: name})
	}
	return flags, nil
}

// parseCallLine recognises `dagger call ...` in a script line and checks it.
func (c *Checker) parseCallLine(file, where, line string) (*daggerCall, bool) {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, `result="$(`)
	line = strings.TrimSuffix(line, `)"`)
	if !strings.HasPrefix(line, "dagger call ") || strings.Contains(line, "${{") {
		return nil, false
	}
	words := strings.Fields(strings.TrimPrefix(line, "dagger call "))
	ctorFlags, rest := splitFlags(words, c.Module.Constructor)
	call := &daggerCall{secrets: map[string]string{}}
	for _, f := range ctorFlags {
		call.moduleArgs = append(call.moduleArgs, joinFlag(f))
	}
	if len(rest) == 0 {
		c.add(file, where, "dagger call without a function: %s", line)
		return nil, false
	}
	call.function = rest[0]
	fn, _ := c.Module.Function(c.Module.MainObject, call.function)
	flags, chain := splitFlags(rest[1:], fn)
	for _, f := range flags {
		call.args = append(call.args, joinFlag(f))
	}
	if len(chain) > 0 {
		call.chain = []string{strings.Join(chain, " ")}
	}
	c.checkCall(file, where, call)
	return call, true
}

func joinFlag(f flagArg) string {
	if !f.hasValue {
		return "--" + f.name
	}
	return "--" + f.name + " " + f.value
}

// words splits the template's argument strings into words.
func words(list []string) []string {
	var out []string
	for _, s := range list {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

// checkCall checks a dagger call against the module: function, flags,
// required arguments, secret values and the calls chained on the result.
func (c *Checker) checkCall(file, where string, call *daggerCall) {
	m := c.Module
	c.checkFlags(file, where, "the module constructor", m.Constructor, words(call.moduleArgs), call)
	fn, ok := m.Function(m.MainObject, call.function)
	if !ok {
		c.add(file, where, "dagger call %s: the module has no function %q (functions are the kebab-case names of %s's methods)", call.function, call.function, m.MainObject)
		return
	}
	c.checkFlags(file, where, "dagger call "+call.function, fn, words(call.args), call)
	c.checkChain(file, where, fn, call)
}

func (c *Checker) checkFlags(file, where, what string, fn *modinfo.Function, ws []string, call *daggerCall) {
	flags, rest := splitFlags(ws, fn)
	if len(rest) > 0 {
		c.add(file, where, "%s: unexpected words %q", what, strings.Join(rest, " "))
	}
	given := map[string]bool{}
	for _, f := range flags {
		given[f.name] = true
		if fn == nil {
			c.add(file, where, "%s takes no flag --%s", what, f.name)
			continue
		}
		a, ok := fn.Arg(f.name)
		if !ok {
			c.add(file, where, "%s has no flag --%s (flags are the kebab-case names of %s's arguments)", what, f.name, fn.GoName)
			continue
		}
		switch {
		case a.IsSecret() && !secretValue.MatchString(f.value):
			c.add(file, where, "%s --%s is a secret: pass env:NAME (or file:PATH, cmd:...), never a literal value", what, f.name)
		case a.IsSecret() && strings.HasPrefix(f.value, "env:"):
			name := strings.TrimPrefix(f.value, "env:")
			v, mapped := call.secrets[name]
			switch {
			case !mapped:
				c.add(file, where, "%s --%s env:%s: %s is not mapped into the step's environment (secrets: %s: $(secret-variable))", what, f.name, name, name, name)
			case !macro.MatchString(v):
				c.add(file, where, "%s --%s env:%s: the step maps a literal into %s; map a secret variable, e.g. $(key-vault-secret)", what, f.name, name, name)
			}
		case !a.IsSecret() && secretValue.MatchString(f.value) && a.Type == "string":
			c.add(file, where, "%s --%s is not a secret argument: %q would be passed as literal text", what, f.name, f.value)
		case a.Type == "bool" && f.hasValue && f.value != "true" && f.value != "false":
			c.add(file, where, "%s --%s is a boolean: %q is not true or false", what, f.name, f.value)
		}
	}
	if fn == nil {
		return
	}
	for _, a := range fn.Args {
		if !a.Optional() && !given[a.Flag()] {
			c.add(file, where, "%s: required flag --%s is missing", what, a.Flag())
		}
	}
}

// checkChain checks what is called on the function's result.
func (c *Checker) checkChain(file, where string, fn *modinfo.Function, call *daggerCall) {
	result := ""
	for _, r := range fn.Results {
		if r != "error" {
			result = r
		}
	}
	chain := words(call.chain)
	switch {
	case len(chain) == 0:
		if strings.HasPrefix(result, "*") && result != "*dagger.Directory" && result != "*dagger.File" && result != "*dagger.Container" {
			c.add(file, where, "dagger call %s returns an object (%s): call one of its fields, e.g. chain: ['ref']", call.function, result)
		}
	case result == "*dagger.Directory" || result == "*dagger.File":
		if chain[0] != "export" || len(chain) < 3 || chain[1] != "--path" {
			c.add(file, where, "dagger call %s returns a %s: chain export --path PATH to keep it", call.function, strings.TrimPrefix(result, "*dagger."))
		}
	case strings.HasPrefix(result, "*"):
		obj := c.Module.Objects[strings.TrimPrefix(result, "*")]
		if obj == nil {
			c.add(file, where, "dagger call %s: cannot check calls on %s", call.function, result)
			return
		}
		found := false
		for _, f := range obj.Fields {
			if !f.Private && modinfo.Kebab(f.Name) == chain[0] {
				found = true
			}
		}
		for _, f := range obj.Functions {
			if f.CLIName() == chain[0] {
				found = true
			}
		}
		if !found {
			c.add(file, where, "dagger call %s returns %s, which has no field or function %q", call.function, obj.Name, chain[0])
		}
	default:
		c.add(file, where, "dagger call %s returns %s: nothing can be chained on it (%q)", call.function, result, strings.Join(chain, " "))
	}
}
