// Package cmdline builds the command lines the Dagger functions run in their
// containers: go build for the service, and the repository's own cmd/release
// and cmd/deploy. Validation happens here, before any container starts, so a
// bad argument fails fast with an error that names the flag and the fix.
package cmdline

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"dagger/pipeline/internal/imageref"
)

// Platform is an OS/architecture pair such as linux/amd64.
type Platform struct {
	OS, Arch, Variant string
}

// String returns os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

var supportedArch = map[string]bool{"amd64": true, "arm64": true}

// ParsePlatform parses os/arch[/variant]; the service ships for linux/amd64 and linux/arm64.
func ParsePlatform(flag, s string) (Platform, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Platform{}, fmt.Errorf("--%s %q is not os/arch (e.g. linux/amd64)", flag, s)
	}
	p := Platform{OS: parts[0], Arch: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	if p.OS != "linux" || !supportedArch[p.Arch] {
		return Platform{}, fmt.Errorf("--%s %q is not supported: the image is built for linux/amd64 and linux/arm64", flag, s)
	}
	return p, nil
}

// GoBuild returns the environment and arguments of a static, reproducible
// build of the service's main package (relative to its Go module, e.g.
// ./cmd/server or .) for platform, writing the binary to out.
func GoBuild(p Platform, main, out string) (env map[string]string, args []string, err error) {
	if main != "." && (!strings.HasPrefix(main, "./") || strings.HasSuffix(main, "...") || strings.Contains(main, "..")) {
		return nil, nil, fmt.Errorf("--main %q is not one package inside the Go module: use . or ./path/to/main", main)
	}
	env = map[string]string{
		"CGO_ENABLED": "0",
		"GOOS":        p.OS,
		"GOARCH":      p.Arch,
		"GOFLAGS":     "-buildvcs=false",
	}
	if p.Arch == "arm64" && p.Variant != "" {
		env["GOARM64"] = strings.TrimPrefix(p.Variant, "v") + ".0"
	}
	args = []string{"go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, main}
	return env, args, nil
}

// SortedEnv returns env's keys in order, so containers are assembled deterministically.
func SortedEnv(env map[string]string) []string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var revisionPattern = regexp.MustCompile(`^([0-9a-f]{7,64}|dev)$`)

// BuildInfo is the provenance stamped into the image's OCI labels.
type BuildInfo struct {
	SourceURL string // org.opencontainers.image.source
	Revision  string // org.opencontainers.image.revision: the git commit
	Created   string // org.opencontainers.image.created: RFC 3339
}

// Validate checks the build information and names the flag to fix.
func (b BuildInfo) Validate() error {
	if !revisionPattern.MatchString(b.Revision) {
		return fmt.Errorf("--revision %q is not a git commit (7 to 64 lower-case hex digits) or \"dev\"; pass $(git rev-parse HEAD)", b.Revision)
	}
	if _, err := time.Parse(time.RFC3339, b.Created); err != nil {
		return fmt.Errorf("--created %q is not RFC 3339; pass the commit time, e.g. $(git log -1 --format=%%cI)", b.Created)
	}
	if b.SourceURL == "" || strings.ContainsAny(b.SourceURL, " \t\n") {
		return fmt.Errorf("--source-url %q is not a URL; pass the repository's web address", b.SourceURL)
	}
	return nil
}

// ImageArgs returns `release image` arguments assembling the OCI layout at
// out from one binary per platform (platform string -> binary path); name is
// the binary's file name in the image (/app/NAME).
func ImageArgs(release, name string, bins map[string]string, info BuildInfo, out string) ([]string, error) {
	if err := info.Validate(); err != nil {
		return nil, err
	}
	if name == "" || strings.ContainsAny(name, "/ \t\n") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("--binary %q is not a file name for /app/NAME", name)
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("--platform: no platform to build; pass at least linux/amd64")
	}
	args := []string{release, "image", "--name", name}
	for _, p := range SortedEnv(bins) {
		args = append(args, "--binary", p+"="+bins[p])
	}
	return append(args, "--source", info.SourceURL, "--revision", info.Revision, "--created", info.Created, "--out", out), nil
}

// Signing selects the cosign key: a key file mounted from a secret, or a KMS
// key reference such as azurekms://vault.vault.azure.net/key.
type Signing struct {
	KeyFile string // path of the mounted private key; its password comes from COSIGN_PASSWORD
	KMSKey  string
}

var kmsSchemes = []string{"azurekms://", "awskms://", "gcpkms://", "hashivault://"}

// args returns the signing flags; required says whether a key must be given.
func (s Signing) args(keyFlag, kmsFlag string, required bool) ([]string, error) {
	switch {
	case s.KeyFile != "" && s.KMSKey != "":
		return nil, fmt.Errorf("--%s and --%s are both set: sign with one of them", keyFlag, kmsFlag)
	case s.KeyFile != "":
		return []string{"--key", s.KeyFile}, nil
	case s.KMSKey != "":
		for _, scheme := range kmsSchemes {
			if strings.HasPrefix(s.KMSKey, scheme) && len(s.KMSKey) > len(scheme) {
				return []string{"--kms-key", s.KMSKey}, nil
			}
		}
		return nil, fmt.Errorf("--%s %q is not a KMS key reference: use azurekms://VAULT.vault.azure.net/KEY (or awskms://, gcpkms://, hashivault://)", kmsFlag, s.KMSKey)
	case required:
		return nil, fmt.Errorf("no signing key: pass --%s (with --%s-password) or --%s", keyFlag, keyFlag, kmsFlag)
	}
	return nil, nil
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// PublishOptions are the inputs of `release publish`.
type PublishOptions struct {
	Layout     string
	Repository string // registry/repo
	Tags       []string
	Signing    Signing
	PlainHTTP  bool
	RefFile    string
	// Provenance inputs (all optional; see `release publish -h`).
	BuilderID        string
	SourceRepository string
	SourceRevision   string
	InvocationID     string
	BuildParameters  []string // KEY=VALUE
	BaseImages       []string // REGISTRY/REPO@sha256:...
}

// PublishArgs returns `release publish` arguments. Credentials and the key
// password travel in the environment (REGISTRY_USERNAME, REGISTRY_PASSWORD,
// COSIGN_PASSWORD), never on the command line.
func PublishArgs(release string, o PublishOptions) ([]string, error) {
	if err := imageref.ValidateRepository("repository", o.Repository); err != nil {
		return nil, err
	}
	args := []string{release, "publish", "--layout", o.Layout, "--repository", o.Repository}
	seen := map[string]bool{}
	for _, t := range o.Tags {
		if !tagPattern.MatchString(t) {
			return nil, fmt.Errorf("--tags: %q is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)", t)
		}
		if !seen[t] {
			seen[t] = true
			args = append(args, "--tag", t)
		}
	}
	sign, err := o.Signing.args("signing-key", "kms-key", true)
	if err != nil {
		return nil, err
	}
	args = append(args, sign...)
	if o.PlainHTTP {
		args = append(args, "--plain-http")
	}
	if o.RefFile != "" {
		args = append(args, "--ref-file", o.RefFile)
	}
	for _, f := range []struct{ flag, v string }{
		{"--builder-id", o.BuilderID}, {"--source-repository", o.SourceRepository},
		{"--source-revision", o.SourceRevision}, {"--invocation-id", o.InvocationID},
	} {
		if f.v != "" {
			args = append(args, f.flag, f.v)
		}
	}
	for _, p := range o.BuildParameters {
		if k, _, ok := strings.Cut(p, "="); !ok || k == "" {
			return nil, fmt.Errorf("--build-parameter %q: want KEY=VALUE", p)
		}
		args = append(args, "--build-parameter", p)
	}
	for _, b := range o.BaseImages {
		args = append(args, "--base-image", b)
	}
	return args, nil
}

// PromoteOptions are the inputs of `release promote`.
type PromoteOptions struct {
	From                string // digest-pinned non-production reference
	To                  string // production registry/repo
	SourcePublicKey     string
	AcceptancePublicKey string
	Signing             Signing
	AllowUnaccepted     bool
	PlainHTTP           bool
	RecordFile          string
	RefFile             string
	// Provenance expectations and escapes (see `release promote -h`).
	ExpectBuilder        string
	ExpectSourceRevision string
	AllowNoSBOM          bool
	AllowNoProvenance    bool
}

// PromoteArgs returns `release promote` arguments. Source credentials travel
// as REGISTRY_USERNAME/REGISTRY_PASSWORD and production credentials as
// TARGET_REGISTRY_USERNAME/TARGET_REGISTRY_PASSWORD.
func PromoteArgs(release string, o PromoteOptions) ([]string, error) {
	from, err := imageref.ParseDigestRef("from", o.From)
	if err != nil {
		return nil, err
	}
	if err := imageref.ValidateRepository("to", o.To); err != nil {
		return nil, err
	}
	if o.To == from.Repository {
		return nil, fmt.Errorf("--to %q is the repository the image comes from: pass the production repository", o.To)
	}
	if o.SourcePublicKey == "" {
		return nil, fmt.Errorf("--source-public-key is missing: pass the non-production signing public key")
	}
	args := []string{release, "promote", "--from", from.String(), "--to", o.To, "--source-public-key", o.SourcePublicKey}
	if o.AcceptancePublicKey != "" {
		args = append(args, "--acceptance-public-key", o.AcceptancePublicKey)
	}
	sign, err := o.Signing.args("signing-key", "kms-key", true)
	if err != nil {
		return nil, err
	}
	args = append(args, sign...)
	if o.AllowUnaccepted {
		args = append(args, "--allow-unaccepted")
	}
	if o.ExpectBuilder != "" {
		args = append(args, "--expect-builder", o.ExpectBuilder)
	}
	if o.ExpectSourceRevision != "" {
		args = append(args, "--expect-source-revision", o.ExpectSourceRevision)
	}
	if o.AllowNoSBOM {
		args = append(args, "--allow-no-sbom")
	}
	if o.AllowNoProvenance {
		args = append(args, "--allow-no-provenance")
	}
	if o.PlainHTTP {
		args = append(args, "--plain-http")
	}
	if o.RecordFile != "" {
		args = append(args, "--record-file", o.RecordFile)
	}
	if o.RefFile != "" {
		args = append(args, "--ref-file", o.RefFile)
	}
	return args, nil
}

// AttestArgs returns `release attest-acceptance` arguments recording that
// image passed acceptance in environment.
func AttestArgs(release, image, environment string, s Signing, junit string, plainHTTP bool) ([]string, error) {
	ref, err := imageref.ParseDigestRef("image", image)
	if err != nil {
		return nil, err
	}
	if err := validEnvironment(environment); err != nil {
		return nil, err
	}
	sign, err := s.args("signing-key", "kms-key", true)
	if err != nil {
		return nil, err
	}
	args := append([]string{release, "attest-acceptance", "--image", ref.String(), "--environment", environment}, sign...)
	if junit != "" {
		args = append(args, "--junit", junit)
	}
	if plainHTTP {
		args = append(args, "--plain-http")
	}
	return args, nil
}

var environmentPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$`)

// validEnvironment checks the form of an environment name; which
// environments a service has is its settings' business (its overlays).
func validEnvironment(env string) error {
	if !environmentPattern.MatchString(env) {
		return fmt.Errorf("--environment %q is not an environment name (lower-case letters, digits and -, e.g. staging or production)", env)
	}
	return nil
}

var namespacePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// DeployOptions are the inputs of `deploy apply`.
type DeployOptions struct {
	Kubeconfig  string
	Manifests   string
	Environment string
	Image       string
	Namespace   string
	Timeout     string
	Rollback    bool
	SummaryFile string
	// Components are extra kustomize components, paths inside Manifests
	// (e.g. components/db-password-from-secret).
	Components []string
}

// DeployArgs returns `deploy apply` arguments.
func DeployArgs(deploy string, o DeployOptions) ([]string, error) {
	ref, err := imageref.ParseDigestRef("image", o.Image)
	if err != nil {
		return nil, err
	}
	if err := validEnvironment(o.Environment); err != nil {
		return nil, err
	}
	if o.Namespace != "" && !namespacePattern.MatchString(o.Namespace) {
		return nil, fmt.Errorf("--namespace %q is not a Kubernetes namespace name (lower-case letters, digits and -, at most 63)", o.Namespace)
	}
	timeout := o.Timeout
	if timeout == "" {
		timeout = "5m"
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("--timeout %q is not a positive duration such as 5m or 90s", o.Timeout)
	}
	args := []string{deploy, "apply", "--kubeconfig", o.Kubeconfig, "--manifests", o.Manifests,
		"--environment", o.Environment, "--image", ref.String(), "--timeout", d.String(),
		fmt.Sprintf("--rollback=%t", o.Rollback)}
	if o.Namespace != "" {
		args = append(args, "--namespace", o.Namespace)
	}
	for _, c := range o.Components {
		if c == "" || strings.HasPrefix(c, "/") || strings.HasPrefix(c, "-") {
			return nil, fmt.Errorf("--component %q must be a kustomize component's path inside manifests/, e.g. components/db-password-from-secret", c)
		}
		args = append(args, "--component", c)
	}
	if o.SummaryFile != "" {
		args = append(args, "--summary-file", o.SummaryFile)
	}
	return args, nil
}

// VerifyArgs returns `release verify` arguments: the image's signature must
// verify with publicKey (a mounted cosign.pub); with publicKeyOut, the key
// is written there (PEM) once it verified.
func VerifyArgs(release, image, publicKey, publicKeyOut string, plainHTTP bool) ([]string, error) {
	ref, err := imageref.ParseDigestRef("image", image)
	if err != nil {
		return nil, err
	}
	if publicKey == "" {
		return nil, fmt.Errorf("--public-key is missing: pass the non-production signing public key")
	}
	args := []string{release, "verify", "--image", ref.String(), "--public-key", publicKey}
	if publicKeyOut != "" {
		args = append(args, "--public-key-out", publicKeyOut)
	}
	if plainHTTP {
		args = append(args, "--plain-http")
	}
	return args, nil
}
