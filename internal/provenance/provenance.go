// Package provenance writes and checks the SLSA v1 build provenance
// (https://slsa.dev/provenance/v1) of a published image: who built it
// (builder), from what (source repository and revision, build parameters)
// and with what (resolved materials: the Go toolchain, base images and Go
// module versions read from the binaries' build information). The model and
// its validation are the in-toto attestation framework's.
package provenance

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	prov "github.com/in-toto/attestation/go/predicates/provenance/v1"
	ita "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/go-aks/pipeline/internal/sbom"
)

// PredicateType is SLSA provenance v1 (cosign's --type slsaprovenance1).
const PredicateType = "https://slsa.dev/provenance/v1"

// BuildType names how the external parameters are to be read.
const BuildType = "https://github.com/go-aks/pipeline/release/build/v1"

// DefaultBuilderID is the builder when the caller names none.
const DefaultBuilderID = "https://github.com/go-aks/pipeline/cmd/release"

// ErrMismatch marks provenance that does not match what the caller expects.
var ErrMismatch = errors.New("provenance does not match what was expected")

// Inputs describe a build.
type Inputs struct {
	// BuilderID identifies the build platform (e.g. the pipeline's URL).
	BuilderID string
	// SourceRepository and SourceRevision: where the source came from.
	SourceRepository string
	SourceRevision   string
	// Parameters are the external build parameters (KEY=VALUE).
	Parameters map[string]string
	// BaseImages are REGISTRY/REPO@sha256:... references the image is built on.
	BaseImages []string
	// InvocationID identifies this run (e.g. the pipeline run id).
	InvocationID string
	// StartedOn and FinishedOn bound the build; zero: omitted.
	StartedOn, FinishedOn time.Time
	// Binaries give the resolved toolchain and modules.
	Binaries []sbom.Binary
}

var gitHex = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// Build returns the provenance predicate (JSON), validated.
func Build(in Inputs) ([]byte, error) {
	if in.BuilderID == "" {
		in.BuilderID = DefaultBuilderID
	}
	if in.SourceRepository == "" || in.SourceRevision == "" {
		return nil, errors.New("provenance: the source repository and revision are required (--source-repository/--source-revision, or the image's org.opencontainers.image.source/revision annotations)")
	}
	ext := map[string]any{
		"source": map[string]any{"repository": in.SourceRepository, "revision": in.SourceRevision},
	}
	if len(in.Parameters) > 0 {
		params := map[string]any{}
		for k, v := range in.Parameters {
			params[k] = v
		}
		ext["parameters"] = params
	}
	extPB, err := structpb.NewStruct(ext)
	if err != nil {
		return nil, fmt.Errorf("provenance: external parameters: %w", err)
	}
	src := &ita.ResourceDescriptor{Name: "source", Uri: "git+" + in.SourceRepository + "@" + in.SourceRevision}
	if gitHex.MatchString(in.SourceRevision) {
		src.Digest = map[string]string{"gitCommit": in.SourceRevision}
	}
	deps := []*ita.ResourceDescriptor{src}
	for _, ref := range in.BaseImages {
		repo, dig, ok := strings.Cut(ref, "@sha256:")
		if !ok || len(dig) != 64 {
			return nil, fmt.Errorf("provenance: base image %q is not pinned by digest (REGISTRY/REPO@sha256:...)", ref)
		}
		if _, err := hex.DecodeString(dig); err != nil {
			return nil, fmt.Errorf("provenance: base image %q: digest is not hex", ref)
		}
		deps = append(deps, &ita.ResourceDescriptor{Name: "base-image", Uri: "oci://" + repo, Digest: map[string]string{"sha256": dig}})
	}
	seen := map[string]bool{}
	var mods []*ita.ResourceDescriptor
	for _, b := range in.Binaries {
		if b.Info == nil {
			continue
		}
		tc := "pkg:golang/stdlib@" + b.Info.GoVersion
		if !seen[tc] {
			seen[tc] = true
			deps = append(deps, &ita.ResourceDescriptor{Name: "go-toolchain", Uri: tc})
		}
		for _, d := range b.Info.Deps {
			m := d
			if d.Replace != nil {
				m = d.Replace
			}
			uri := "pkg:golang/" + m.Path + "@" + m.Version
			if seen[uri] {
				continue
			}
			seen[uri] = true
			rd := &ita.ResourceDescriptor{Name: "go-module", Uri: uri}
			if m.Sum != "" {
				rd.Annotations, _ = structpb.NewStruct(map[string]any{"goSum": m.Sum})
			}
			mods = append(mods, rd)
		}
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].GetUri() < mods[j].GetUri() })
	deps = append(deps, mods...)
	p := &prov.Provenance{
		BuildDefinition: &prov.BuildDefinition{BuildType: BuildType, ExternalParameters: extPB, ResolvedDependencies: deps},
		RunDetails:      &prov.RunDetails{Builder: &prov.Builder{Id: in.BuilderID}, Metadata: &prov.BuildMetadata{InvocationId: in.InvocationID}},
	}
	if !in.StartedOn.IsZero() {
		p.RunDetails.Metadata.StartedOn = timestamppb.New(in.StartedOn)
	}
	if !in.FinishedOn.IsZero() {
		p.RunDetails.Metadata.FinishedOn = timestamppb.New(in.FinishedOn)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	out, err := protojson.MarshalOptions{Indent: "  "}.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("provenance: encode: %w", err)
	}
	return out, nil
}

// Summary is what a promotion checks and records of a provenance.
type Summary struct {
	BuilderID        string `json:"builderId"`
	SourceRepository string `json:"sourceRepository"`
	SourceRevision   string `json:"sourceRevision"`
	InvocationID     string `json:"invocationId,omitempty"`
}

// Parse reads and validates a provenance predicate.
func Parse(pred []byte) (Summary, error) {
	var p prov.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(pred, &p); err != nil {
		return Summary{}, fmt.Errorf("provenance: not an SLSA v1 provenance predicate: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Summary{}, fmt.Errorf("provenance: invalid: %w", err)
	}
	s := Summary{BuilderID: p.GetRunDetails().GetBuilder().GetId(), InvocationID: p.GetRunDetails().GetMetadata().GetInvocationId()}
	if src := p.GetBuildDefinition().GetExternalParameters().GetFields()["source"].GetStructValue(); src != nil {
		s.SourceRepository = src.GetFields()["repository"].GetStringValue()
		s.SourceRevision = src.GetFields()["revision"].GetStringValue()
	}
	return s, nil
}

// Check compares s with what is expected; empty expectations are not
// checked. A difference wraps ErrMismatch and names both values.
func (s Summary) Check(builderID, sourceRevision string) error {
	var errs []error
	if builderID != "" && s.BuilderID != builderID {
		errs = append(errs, fmt.Errorf("builder %q, expected %q (--expect-builder)", s.BuilderID, builderID))
	}
	if sourceRevision != "" && s.SourceRevision != sourceRevision {
		errs = append(errs, fmt.Errorf("source revision %q, expected %q (--expect-source-revision)", s.SourceRevision, sourceRevision))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", errors.Join(errs...), ErrMismatch)
	}
	return nil
}
