// Package imageref parses the image references the release commands take:
// digest-pinned references (tags are refused with an error that says to pass
// the digest) and bare repositories.
package imageref

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Digest parses s as REGISTRY/REPO@sha256:HEX. flag names the argument in
// errors. A tag, a bare repository or a malformed digest is refused.
func Digest(flag, s string, opts ...name.Option) (name.Digest, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return name.Digest{}, fmt.Errorf("%s is empty: pass the digest-pinned reference REGISTRY/REPO@sha256:... that publish printed", flag)
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return name.Digest{}, fmt.Errorf("%s %q is not pinned to a digest (a tag can be moved): pass the digest-pinned reference REGISTRY/REPO@sha256:... that publish printed", flag, s)
	}
	// REPO:TAG@sha256:... is accepted by some tools; the tag would be
	// silently ignored, so refuse it to avoid a misleading reference.
	repoPart := s[:at]
	if i := strings.LastIndex(repoPart, ":"); i > strings.LastIndex(repoPart, "/") {
		return name.Digest{}, fmt.Errorf("%s %q carries both a tag and a digest: pass only REGISTRY/REPO@sha256:<digest>", flag, s)
	}
	if !strings.HasPrefix(s[at+1:], "sha256:") {
		return name.Digest{}, fmt.Errorf("%s %q: only sha256 digests are supported: pass REGISTRY/REPO@sha256:<64 hex digits>", flag, s)
	}
	d, err := name.NewDigest(s, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s %q is not a valid digest reference (REGISTRY/REPO@sha256:<64 hex digits>): %w", flag, s, err)
	}
	return d, nil
}

// Repository parses s as REGISTRY/REPO without tag or digest.
func Repository(flag, s string, opts ...name.Option) (name.Repository, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return name.Repository{}, fmt.Errorf("%s is empty: pass REGISTRY/REPO, for example myregistry.azurecr.io/orders", flag)
	}
	if strings.Contains(s, "@") {
		return name.Repository{}, fmt.Errorf("%s %q contains a digest: pass only the repository REGISTRY/REPO", flag, s)
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return name.Repository{}, fmt.Errorf("%s %q contains a tag: pass only the repository REGISTRY/REPO (tags are given with --tag)", flag, s)
	}
	if !strings.Contains(s, "/") {
		return name.Repository{}, fmt.Errorf("%s %q has no registry host: pass REGISTRY/REPO, for example myregistry.azurecr.io/orders", flag, s)
	}
	r, err := name.NewRepository(s, append([]name.Option{name.StrictValidation}, opts...)...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("%s %q is not a valid repository (REGISTRY/REPO): %w", flag, s, err)
	}
	return r, nil
}
