// Package imageref validates the image references the pipeline hands from one
// stage to the next. Everything after publish works on a digest-pinned
// reference (registry/repo@sha256:...); a tag is refused because a tag can move.
package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	// A repository: a registry host (with optional port), then one or more
	// lower-case path components, as the OCI distribution spec names them.
	repositoryPattern = regexp.MustCompile(`^[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+|__|-+[a-z0-9]+)*)+$`)
)

// DigestRef is a reference pinned to a manifest digest.
type DigestRef struct {
	Repository string // registry/path
	Digest     string // sha256:<64 hex>
}

// String returns the reference in its canonical form repository@digest.
func (r DigestRef) String() string { return r.Repository + "@" + r.Digest }

// Registry returns the registry host (with port) of the reference.
func (r DigestRef) Registry() string { return Registry(r.Repository) }

// ParseDigestRef parses ref, which must be pinned to a digest. flag names the
// argument the value came from, so the error can say what to fix.
func ParseDigestRef(flag, ref string) (DigestRef, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return DigestRef{}, fmt.Errorf("--%s is empty: pass the digest-pinned reference publish returned (registry/repo@sha256:...)", flag)
	}
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return DigestRef{}, fmt.Errorf("--%s %q is not pinned to a digest: pass the reference publish returned (registry/repo@sha256:...), never a tag", flag, ref)
	}
	if !digestPattern.MatchString(digest) {
		return DigestRef{}, fmt.Errorf("--%s %q: digest %q is not sha256:<64 lower-case hex digits>", flag, ref, digest)
	}
	// A tag before the digest (repo:tag@sha256:...) is ambiguous: drop it.
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		return DigestRef{}, fmt.Errorf("--%s %q names both a tag and a digest: pass registry/repo@sha256:... without the tag", flag, ref)
	}
	if err := ValidateRepository(flag, repo); err != nil {
		return DigestRef{}, err
	}
	return DigestRef{Repository: repo, Digest: digest}, nil
}

// ValidateRepository checks that repo is registry/path with no tag or digest.
func ValidateRepository(flag, repo string) error {
	if strings.Contains(repo, "@") {
		return fmt.Errorf("--%s %q must be a repository (registry/path) without a digest", flag, repo)
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") && strings.Contains(repo, "/") {
		return fmt.Errorf("--%s %q must be a repository (registry/path) without a tag", flag, repo)
	}
	if !repositoryPattern.MatchString(repo) {
		return fmt.Errorf("--%s %q is not a repository: use registry-host[:port]/path, e.g. myacr.azurecr.io/orders", flag, repo)
	}
	host := Registry(repo)
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return fmt.Errorf("--%s %q: the first component %q must be a registry host (e.g. myacr.azurecr.io), not a Docker Hub shorthand", flag, repo, host)
	}
	return nil
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
