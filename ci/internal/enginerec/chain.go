package enginerec

import (
	"fmt"
	"slices"
	"strings"
)

// Arg is one argument of a step.
type Arg struct {
	Name string
	// Value is the decoded GraphQL value (string, bool, int64, []any, ...).
	Value any
	// Text is the canonical text, IDs replaced by <the chain they name>.
	Text string
}

// Step is one field of a query chain with its arguments, sorted by name.
type Step struct {
	Field string
	Args  []Arg
}

// String is the canonical text of the step.
func (s Step) String() string {
	if len(s.Args) == 0 {
		return s.Field
	}
	parts := make([]string, len(s.Args))
	for i, a := range s.Args {
		parts[i] = a.Name + ":" + a.Text
	}
	return s.Field + "(" + strings.Join(parts, ",") + ")"
}

// Arg returns the canonical text of an argument, "" when absent.
func (s Step) Arg(name string) string {
	for _, a := range s.Args {
		if a.Name == name {
			return a.Text
		}
	}
	return ""
}

// String1 returns a string argument's value, "" when absent or not a string.
func (s Step) String1(name string) string {
	for _, a := range s.Args {
		if a.Name == name {
			if v, ok := a.Value.(string); ok {
				return v
			}
		}
	}
	return ""
}

// List returns a list-of-strings argument's values.
func (s Step) List(name string) []string {
	for _, a := range s.Args {
		if a.Name != name {
			continue
		}
		vs, _ := a.Value.([]any)
		out := make([]string, 0, len(vs))
		for _, v := range vs {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	return nil
}

// Chain is a query chain from the root.
type Chain []Step

// String is the canonical text of the chain.
func (c Chain) String() string {
	parts := make([]string, len(c))
	for i, s := range c {
		parts[i] = s.String()
	}
	return strings.Join(parts, ".")
}

// Index returns the index of the first step at or after from matching f, or -1.
func (c Chain) Index(from int, f func(Step) bool) int {
	for i := max(from, 0); i < len(c); i++ {
		if f(c[i]) {
			return i
		}
	}
	return -1
}

// LastExec returns the index of the last withExec, or -1.
func (c Chain) LastExec() int {
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].Field == "withExec" {
			return i
		}
	}
	return -1
}

// Call is one leaf the SDK asked for.
type Call struct {
	// Type is the GraphQL type the leaf is a field of.
	Type string
	// Chain leads from the root to the object the leaf is read from.
	Chain Chain
	// Leaf is the field asked for.
	Leaf Step
	// LeafType is the Go type the SDK decodes the answer into.
	LeafType string
}

// ExecArgs returns the arguments of the last withExec in the chain, nil if none.
func (c Call) ExecArgs() []string {
	if i := c.Chain.LastExec(); i >= 0 {
		return c.Chain[i].List("args")
	}
	return nil
}

// Fields matches a call whose leaf is one of names.
func (c Call) Fields(names ...string) bool { return slices.Contains(names, c.Leaf.Field) }

// ExecContains reports whether the last exec's arguments contain every one of words.
func (c Call) ExecContains(words ...string) bool {
	args := c.ExecArgs()
	for _, w := range words {
		if !slices.Contains(args, w) {
			return false
		}
	}
	return args != nil
}

// ReadsFile returns the path of the file a contents call reads
// (container.file(path) or directory.file(path)), "" otherwise.
func (c Call) ReadsFile() string {
	if len(c.Chain) == 0 || c.Chain[len(c.Chain)-1].Field != "file" {
		return ""
	}
	return c.Chain[len(c.Chain)-1].String1("path")
}
