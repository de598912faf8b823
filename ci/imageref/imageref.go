// Package imageref is the one parser of the image references the pipeline
// hands from stage to stage, shared by the Dagger module (ci/), the commands
// (cmd/release, cmd/deploy, cmd/rehearse) and the manifests renderer, so that
// `deploy apply` on a laptop accepts exactly what `dagger call deploy` does.
//
// Everything after publish works on a digest-pinned reference
// REGISTRY/REPO@sha256:<64 hex>. A tag alone is refused (a tag can move). A
// reference that carries both a tag and a digest (REPO:TAG@sha256:...) is
// refused too: kubectl and crane silently ignore the tag, so the reference
// reads as if it named the tag while it deploys the digest; the error asks for
// the reference without the tag. Parsing is go-containerregistry's name
// package with strict validation; on top of it the first path component must
// be a registry host (no Docker Hub shorthand such as library/orders).
package imageref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// Digest parses s as REGISTRY/REPO@sha256:HEX. arg names the argument in
// errors exactly as the user typed it ("--image", "image"). opts are passed
// to name (name.Insecure for a plain-HTTP registry).
func Digest(arg, s string, opts ...name.Option) (name.Digest, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return name.Digest{}, fmt.Errorf("%s is empty: pass the digest-pinned reference REGISTRY/REPO@sha256:... that publish printed", arg)
	}
	repo, dg, ok := strings.Cut(s, "@")
	if !ok {
		return name.Digest{}, fmt.Errorf("%s %q is not pinned to a digest (a tag can be moved): pass the digest-pinned reference REGISTRY/REPO@sha256:... that publish printed", arg, s)
	}
	if hasTag(repo) {
		return name.Digest{}, fmt.Errorf("%s %q carries both a tag and a digest (the tag would be ignored): pass REGISTRY/REPO@sha256:<digest> without the tag", arg, s)
	}
	if !digestPattern.MatchString(dg) {
		return name.Digest{}, fmt.Errorf("%s %q: digest %q is not sha256:<64 lower-case hex digits>", arg, s, dg)
	}
	if _, err := Repository(arg, repo, opts...); err != nil {
		return name.Digest{}, err
	}
	d, err := name.NewDigest(s, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s %q is not a valid digest reference (REGISTRY/REPO@sha256:<64 hex digits>): %w", arg, s, err)
	}
	return d, nil
}

// Repository parses s as REGISTRY/REPO without tag or digest.
func Repository(arg, s string, opts ...name.Option) (name.Repository, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return name.Repository{}, fmt.Errorf("%s is empty: pass REGISTRY/REPO, for example myregistry.azurecr.io/orders", arg)
	case strings.Contains(s, "@"):
		return name.Repository{}, fmt.Errorf("%s %q contains a digest: pass only the repository REGISTRY/REPO", arg, s)
	case hasTag(s):
		return name.Repository{}, fmt.Errorf("%s %q contains a tag: pass only the repository REGISTRY/REPO", arg, s)
	case !strings.Contains(s, "/"):
		return name.Repository{}, fmt.Errorf("%s %q is not a repository REGISTRY/REPO (a registry host, then a path): pass, for example, myregistry.azurecr.io/orders", arg, s)
	}
	if host := Registry(s); !strings.ContainsAny(host, ".:") && host != "localhost" {
		return name.Repository{}, fmt.Errorf("%s %q: the first component %q must be a registry host (for example myregistry.azurecr.io), not a Docker Hub shorthand", arg, s, host)
	}
	r, err := name.NewRepository(s, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%s %q is not a valid repository (REGISTRY/REPO, lower-case path): %w", arg, s, err)
	}
	return r, nil
}

// hasTag reports whether the last path component of repo carries :TAG.
func hasTag(repo string) bool {
	i := strings.LastIndex(repo, ":")
	return i > strings.LastIndex(repo, "/") && strings.Contains(repo, "/")
}

// DigestRef is a reference pinned to a manifest digest, as plain strings (the
// form the Dagger module hands between functions).
type DigestRef struct {
	Repository string // registry/path
	Digest     string // sha256:<64 hex>
}

// String returns the reference in its canonical form repository@digest.
func (r DigestRef) String() string { return r.Repository + "@" + r.Digest }

// Registry returns the registry host (with port) of the reference.
func (r DigestRef) Registry() string { return Registry(r.Repository) }

// ParseDigestRef is Digest for a Dagger argument or a flag named without its
// dashes: errors name it --flag.
func ParseDigestRef(flag, ref string) (DigestRef, error) {
	d, err := Digest("--"+flag, ref)
	if err != nil {
		return DigestRef{}, err
	}
	return DigestRef{Repository: d.Context().Name(), Digest: d.DigestStr()}, nil
}

// ValidateRepository checks that repo is registry/path with no tag or digest;
// errors name the argument --flag.
func ValidateRepository(flag, repo string) error {
	_, err := Repository("--"+flag, repo)
	return err
}

// JoinRepository joins a registry host and a repository path and validates the result.
func JoinRepository(registryFlag, registry, repositoryFlag, repository string) (string, error) {
	registry = strings.TrimSuffix(strings.TrimSpace(registry), "/")
	repository = strings.Trim(strings.TrimSpace(repository), "/")
	if registry == "" {
		return "", fmt.Errorf("--%s is empty: pass the registry host, e.g. myacr.azurecr.io", registryFlag)
	}
	if repository == "" {
		return "", fmt.Errorf("--%s is empty: pass the repository path, e.g. orders", repositoryFlag)
	}
	if strings.Contains(registry, "/") {
		return "", fmt.Errorf("--%s %q must be a host[:port] only; put the path in --%s", registryFlag, registry, repositoryFlag)
	}
	full := registry + "/" + repository
	if err := ValidateRepository(repositoryFlag, full); err != nil {
		return "", err
	}
	return full, nil
}

// Registry returns the host[:port] part of a repository or reference.
func Registry(repo string) string {
	host, _, _ := strings.Cut(repo, "/")
	return host
}

// Hostname returns the registry host without its port: the name a Dagger
// service standing in for that registry must be bound as.
func Hostname(registry string) string {
	host, _, _ := strings.Cut(registry, ":")
	return host
}
