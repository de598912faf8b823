// Package toolchain derives the container images the pipeline uses from the
// repository's own pins, so the Go version lives in exactly one place: go.mod.
package toolchain

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
)

// versionPattern accepts Go release versions as they appear in go.mod:
// "1.26", "1.26.0", "1.27.3", "1.27rc1".
var versionPattern = regexp.MustCompile(`^1\.[0-9]+(\.[0-9]+|rc[0-9]+)?$`)

// GoVersion returns the Go release the repository builds with: the version of
// the toolchain line of go.mod when present (that is what `go` switches to),
// otherwise the version of the go line.
func GoVersion(gomod []byte) (string, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return "", fmt.Errorf("parse go.mod: %w", err)
	}
	var v string
	switch {
	case f.Toolchain != nil && f.Toolchain.Name != "":
		name := f.Toolchain.Name
		if name == "default" || name == "local" {
			return "", fmt.Errorf("go.mod: toolchain %q names no release; pin one (e.g. toolchain go1.27.3) or pass --go-image", name)
		}
		v = strings.TrimPrefix(name, "go")
		// A toolchain name may carry a suffix such as go1.27.3+auto.
		if i := strings.IndexAny(v, "+-"); i >= 0 {
			v = v[:i]
		}
	case f.Go != nil && f.Go.Version != "":
		v = f.Go.Version
	default:
		return "", fmt.Errorf("go.mod has neither a toolchain nor a go line; add `go 1.x.y` or pass --go-image")
	}
	if !versionPattern.MatchString(v) {
		return "", fmt.Errorf("go.mod: cannot use Go version %q for an image tag; pin a release like go1.27.3 or pass --go-image", v)
	}
	return v, nil
}

// Image returns the reference of an image in registry (a registry host with an
// optional path prefix such as "docker.io/library" or
// "myacr.azurecr.io/docker.io/library"). An empty registry leaves the name as is.
func Image(registry, name string) string {
	registry = strings.TrimSuffix(strings.TrimSpace(registry), "/")
	if registry == "" {
		return name
	}
	return registry + "/" + name
}

// GoImage returns the golang image for the Go version go.mod pins, e.g.
// "docker.io/library/golang:1.27.3-bookworm" for registry "docker.io/library"
// and variant "bookworm".
func GoImage(gomod []byte, registry, variant string) (string, error) {
	v, err := GoVersion(gomod)
	if err != nil {
		return "", err
	}
	tag := v
	if variant != "" {
		tag += "-" + variant
	}
	return Image(registry, "golang:"+tag), nil
}
