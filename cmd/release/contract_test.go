package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"dagger/pipeline/cmdline"
)

const contractRef = "nonprod.azurecr.io/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var errParsed = errors.New("parsed; the contract test stops here")

// parseLine runs release on a command line the pipeline builds (args[0] is
// the binary) up to the end of its own flag parsing and returns the parsed
// flag set.
func parseLine(t *testing.T, args []string) *flag.FlagSet {
	t.Helper()
	if len(args) < 2 || args[0] != "release" {
		t.Fatalf("not a release command line: %q", args)
	}
	var got *flag.FlagSet
	afterParse = func(fs *flag.FlagSet) error { got = fs; return errParsed }
	defer func() { afterParse = nil }()
	var stderr bytes.Buffer
	err := run(context.Background(), args[1:], io.Discard, &stderr, func(string) string { return "" })
	if !errors.Is(err, errParsed) || got == nil {
		t.Fatalf("release rejects the pipeline's command line %q: %v\n%s", args, err, stderr.String())
	}
	if got.Name() != "release "+args[1] {
		t.Fatalf("parsed by %q, want release %s", got.Name(), args[1])
	}
	return got
}

// The "every option" inputs: TestEveryOptionIsExercised fails when a builder
// gains an option these leave unset.
var (
	everyPublish = cmdline.PublishOptions{Layout: "/work/layout", Repository: "nonprod.azurecr.io/orders",
		Tags: []string{"0123abc", "latest", "0123abc"}, Signing: cmdline.Signing{KeyFile: "/run/secrets/cosign.key"},
		PlainHTTP: true, RefFile: "/work/ref",
		BuilderID: "https://dev.azure.com/org/project/_build?definitionId=7", SourceRepository: "https://example.com/orders",
		SourceRevision: "0123abc", InvocationID: "run-42", BuildParameters: []string{"goVersion=1.27.3", "platforms=linux/amd64"},
		BaseImages: []string{"docker.io/library/golang@sha256:" + strings.Repeat("ab", 32)}}
	everyPromote = cmdline.PromoteOptions{From: contractRef, To: "prodacr.azurecr.io/orders",
		SourcePublicKey: "/work/keys/source.pub", AcceptancePublicKey: "/work/keys/acceptance.pub",
		Signing: cmdline.Signing{KeyFile: "/run/secrets/cosign.key"}, AllowUnaccepted: true, PlainHTTP: true,
		RecordFile: "/work/promotion.json", RefFile: "/work/ref",
		ExpectBuilder: "https://dev.azure.com/org/project/_build?definitionId=7", ExpectSourceRevision: "0123abc",
		AllowNoSBOM: true, AllowNoProvenance: true}
)

// unset names the zero fields of the struct v.
func unset(v any) []string {
	rv := reflect.ValueOf(v)
	var out []string
	for i := range rv.NumField() {
		if rv.Field(i).IsZero() {
			out = append(out, rv.Type().Field(i).Name)
		}
	}
	return out
}

// TestEveryOptionIsExercised: the contract lines set every option of the
// builders' inputs (the signing key is one of two, both kinds are used).
func TestEveryOptionIsExercised(t *testing.T) {
	for name, v := range map[string]any{"PublishOptions": everyPublish, "PromoteOptions": everyPromote} {
		if u := unset(v); len(u) > 0 {
			t.Errorf("cmdline.%s: the contract's every-option input leaves %v unset: set them and check their flags", name, u)
		}
	}
}

// releaseLines are the command lines ci/cmdline builds for release, every
// option set at least once, with the flag values each must produce.
var releaseLines = []struct {
	builder, name string
	build         func() ([]string, error)
	want          map[string]string
}{
	{"ImageArgs", "two platforms", func() ([]string, error) {
		return cmdline.ImageArgs("release", "orders", map[string]string{"linux/amd64": "/bins/amd64/orders", "linux/arm64": "/bins/arm64/orders"},
			cmdline.BuildInfo{SourceURL: "https://example.com/orders", Revision: "0123abc", Created: "2026-01-02T03:04:05Z"}, "/layout")
	}, map[string]string{"name": "orders", "binary": "linux/amd64=/bins/amd64/orders,linux/arm64=/bins/arm64/orders", "source": "https://example.com/orders",
		"revision": "0123abc", "created": "2026-01-02T03:04:05Z", "out": "/layout"}},
	{"PublishArgs", "every option, key file", func() ([]string, error) {
		return cmdline.PublishArgs("release", everyPublish)
	}, map[string]string{"layout": "/work/layout", "repository": "nonprod.azurecr.io/orders", "tag": "0123abc,latest",
		"key": "/run/secrets/cosign.key", "kms-key": "", "ref-file": "/work/ref", "plain-http": "true",
		"builder-id": "https://dev.azure.com/org/project/_build?definitionId=7", "source-repository": "https://example.com/orders",
		"source-revision": "0123abc", "invocation-id": "run-42", "build-parameter": "goVersion=1.27.3,platforms=linux/amd64",
		"base-image": "docker.io/library/golang@sha256:" + strings.Repeat("ab", 32)}},
	{"PublishArgs", "KMS key, plain HTTP", func() ([]string, error) {
		return cmdline.PublishArgs("release", cmdline.PublishOptions{Layout: "/l", Repository: "registry:5000/orders",
			Signing: cmdline.Signing{KMSKey: "azurekms://v.vault.azure.net/k"}, PlainHTTP: true})
	}, map[string]string{"kms-key": "azurekms://v.vault.azure.net/k", "key": "", "plain-http": "true", "ref-file": ""}},
	{"PromoteArgs", "every option", func() ([]string, error) {
		return cmdline.PromoteArgs("release", everyPromote)
	}, map[string]string{"from": contractRef, "to": "prodacr.azurecr.io/orders", "source-public-key": "/work/keys/source.pub",
		"acceptance-public-key": "/work/keys/acceptance.pub", "key": "/run/secrets/cosign.key", "allow-unaccepted": "true",
		"plain-http": "true", "record-file": "/work/promotion.json", "ref-file": "/work/ref",
		"expect-builder": "https://dev.azure.com/org/project/_build?definitionId=7", "expect-source-revision": "0123abc",
		"allow-no-sbom": "true", "allow-no-provenance": "true"}},
	{"PromoteArgs", "KMS key, defaults", func() ([]string, error) {
		return cmdline.PromoteArgs("release", cmdline.PromoteOptions{From: contractRef, To: "prodacr.azurecr.io/orders",
			SourcePublicKey: "/k.pub", Signing: cmdline.Signing{KMSKey: "azurekms://prod.vault.azure.net/cosign"}})
	}, map[string]string{"kms-key": "azurekms://prod.vault.azure.net/cosign", "allow-unaccepted": "false", "acceptance-public-key": ""}},
	{"AttestArgs", "key file, JUnit, plain HTTP", func() ([]string, error) {
		return cmdline.AttestArgs("release", contractRef, "staging", cmdline.Signing{KeyFile: "/run/secrets/cosign.key"}, "/work/acceptance.xml", true)
	}, map[string]string{"image": contractRef, "environment": "staging", "key": "/run/secrets/cosign.key", "junit": "/work/acceptance.xml", "plain-http": "true"}},
	{"VerifyArgs", "plain HTTP", func() ([]string, error) {
		return cmdline.VerifyArgs("release", contractRef, "/run/secrets/nonprod.pub", "/work/nonprod.pub", true)
	}, map[string]string{"image": contractRef, "public-key": "/run/secrets/nonprod.pub", "public-key-out": "/work/nonprod.pub", "plain-http": "true"}},
	{"VerifyArgs", "TLS", func() ([]string, error) {
		return cmdline.VerifyArgs("release", contractRef, "/k.pub", "", false)
	}, map[string]string{"public-key": "/k.pub", "public-key-out": "", "plain-http": "false"}},
	{"AttestArgs", "KMS key", func() ([]string, error) {
		return cmdline.AttestArgs("release", contractRef, "production", cmdline.Signing{KMSKey: "azurekms://v.vault.azure.net/k"}, "", false)
	}, map[string]string{"environment": "production", "kms-key": "azurekms://v.vault.azure.net/k", "junit": "", "plain-http": "false"}},
}

// TestPipelineCommandLinesParse is the contract between the pipeline's one
// builder of command lines (ci/cmdline, used by the Dagger module and the
// release rehearsal) and this command: every kind of line it builds is parsed
// by release's own flag definitions, each option landing in its flag.
func TestPipelineCommandLinesParse(t *testing.T) {
	for _, tt := range releaseLines {
		t.Run(tt.builder+"/"+tt.name, func(t *testing.T) {
			args, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			fs := parseLine(t, args)
			for name, want := range tt.want {
				f := fs.Lookup(name)
				if f == nil {
					t.Errorf("%s has no --%s", fs.Name(), name)
					continue
				}
				if got := f.Value.String(); got != want {
					t.Errorf("--%s = %q, want %q (from %q)", name, got, want, args)
				}
			}
		})
	}
}

// TestContractParserBites shows the contract fails on a line release does
// not accept, naming the flag.
func TestContractParserBites(t *testing.T) {
	var got *flag.FlagSet
	afterParse = func(fs *flag.FlagSet) error { got = fs; return errParsed }
	defer func() { afterParse = nil }()
	for _, args := range [][]string{
		{"publish", "--layout", "/l", "--signing-key", "/k"},
		{"promote", "--from", contractRef, "stray"},
		{"image", "--binary"},
	} {
		got = nil
		err := run(context.Background(), args, io.Discard, io.Discard, func(string) string { return "" })
		if errors.Is(err, errParsed) || got != nil || err == nil {
			t.Errorf("release %q parsed (%v); want a flag error", args, err)
			continue
		}
		if !strings.Contains(err.Error(), "release "+args[0]) {
			t.Errorf("release %q: error %v does not name the command", args, err)
		}
	}
}

// otherBuilders are ci/cmdline's builders of lines for commands other than
// release, and where those lines are held to their command.
var otherBuilders = map[string]string{
	"DeployArgs": "cmd/deploy/contract_test.go parses them with deploy's flags",
	// Arguments of third-party tools the check runner starts; the check
	// runner's own tests run them.
	"LintArgs":      "golangci-lint (pinned in hack/tools/go.mod)",
	"VulnArgs":      "govulncheck (pinned in hack/tools/go.mod)",
	"GotestsumArgs": "gotestsum (pinned in hack/tools/go.mod)",
	"GoTestArgs":    "go test",
	"CheckArgs":     "cmd/check/contract_test.go parses them with the check runner's flags",
}

// TestEveryBuilderIsCovered reads ci/cmdline and fails when a builder of
// command lines (an exported function named *Args) has no contract test.
func TestEveryBuilderIsCovered(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "..", "ci", "cmdline", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, l := range releaseLines {
		covered[l.builder] = true
	}
	var builders []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.IsExported() && strings.HasSuffix(fn.Name.Name, "Args") {
				builders = append(builders, fn.Name.Name)
			}
		}
	}
	sort.Strings(builders)
	if len(builders) == 0 {
		t.Fatal("no command-line builders found in ci/cmdline")
	}
	for b, where := range otherBuilders {
		if file, _, _ := strings.Cut(where, " "); strings.HasSuffix(file, "_test.go") {
			if _, err := os.Stat(filepath.Join("..", "..", file)); err != nil {
				t.Errorf("ci/cmdline.%s: its contract test %s is missing", b, file)
			}
		}
	}
	for _, b := range builders {
		if !covered[b] && otherBuilders[b] == "" {
			t.Errorf("ci/cmdline.%s builds command lines no contract test parses: add its lines to releaseLines or to its command's contract test (otherBuilders)", b)
		}
	}
}
