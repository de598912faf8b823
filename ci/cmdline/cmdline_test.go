package cmdline

import (
	"reflect"
	"strings"
	"testing"
)

const ref = "myacr.azurecr.io/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParsePlatform(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"linux/amd64", "linux/amd64", ""},
		{"linux/arm64/v8", "linux/arm64/v8", ""},
		{"linux", "", "is not os/arch"},
		{"windows/amd64", "", "is not supported"},
		{"linux/s390x", "", "is not supported"},
	}
	for _, tt := range tests {
		p, err := ParsePlatform("platform", tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePlatform(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p.String() != tt.want {
			t.Errorf("ParsePlatform(%q) = %v, %v", tt.in, p, err)
		}
	}
}

func TestGoBuild(t *testing.T) {
	env, args, err := GoBuild(Platform{OS: "linux", Arch: "arm64"}, "./cmd/orders", "/out/orders")
	if err != nil {
		t.Fatal(err)
	}
	if env["CGO_ENABLED"] != "0" || env["GOARCH"] != "arm64" || env["GOOS"] != "linux" {
		t.Fatalf("env = %v: want a static linux/arm64 build", env)
	}
	want := []string{"go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", "/out/orders", "./cmd/orders"}
	if !reflect.DeepEqual(args, want) {
		t.Fatalf("args = %q, want %q", args, want)
	}
	if keys := SortedEnv(env); !reflect.DeepEqual(keys, []string{"CGO_ENABLED", "GOARCH", "GOFLAGS", "GOOS"}) {
		t.Fatalf("SortedEnv = %v", keys)
	}
	for _, main := range []string{"cmd/orders", "./...", "../other", "/abs"} {
		if _, _, err := GoBuild(Platform{OS: "linux", Arch: "amd64"}, main, "/o"); err == nil || !strings.Contains(err.Error(), "--main") {
			t.Errorf("GoBuild(main %q) error = %v, want one naming --main", main, err)
		}
	}
}

// The lines the builders produce are checked against the commands' own flag
// definitions by the contract tests in cmd/release and cmd/deploy; the tests
// here check the builders' validation.

func TestImageArgs(t *testing.T) {
	info := BuildInfo{SourceURL: "https://example.com/orders", Revision: "0123abc", Created: "2026-01-02T03:04:05Z"}
	bad := []struct {
		info    BuildInfo
		wantErr string
	}{
		{BuildInfo{SourceURL: "u", Revision: "main", Created: info.Created}, "--revision"},
		{BuildInfo{SourceURL: "u", Revision: "dev", Created: "yesterday"}, "--created"},
		{BuildInfo{SourceURL: "", Revision: "dev", Created: info.Created}, "--source-url"},
	}
	for _, b := range bad {
		if _, err := ImageArgs("release", "orders", map[string]string{"linux/amd64": "x"}, b.info, "/l"); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("ImageArgs(%+v) error = %v, want %q", b.info, err, b.wantErr)
		}
	}
	if _, err := ImageArgs("release", "orders", nil, info, "/l"); err == nil || !strings.Contains(err.Error(), "no platform") {
		t.Errorf("ImageArgs with no binaries: error = %v, want \"no platform\"", err)
	}
	if _, err := ImageArgs("release", "../orders", map[string]string{"linux/amd64": "x"}, info, "/l"); err == nil || !strings.Contains(err.Error(), "--binary") {
		t.Errorf("ImageArgs with a path as name: error = %v, want one naming --binary", err)
	}
}

func TestPublishArgs(t *testing.T) {
	bad := []struct {
		o       PublishOptions
		wantErr string
	}{
		{PublishOptions{Repository: "orders", Signing: Signing{KeyFile: "k"}}, "--repository"},
		{PublishOptions{Repository: "r.io/o", Tags: []string{"-x"}, Signing: Signing{KeyFile: "k"}}, "--tags"},
		{PublishOptions{Repository: "r.io/o"}, "no signing key"},
		{PublishOptions{Repository: "r.io/o", Signing: Signing{KeyFile: "k", KMSKey: "azurekms://a/b"}}, "both set"},
		{PublishOptions{Repository: "r.io/o", Signing: Signing{KMSKey: "vault/key"}}, "not a KMS key reference"},
	}
	for _, b := range bad {
		if _, err := PublishArgs("release", b.o); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("PublishArgs(%+v) error = %v, want %q", b.o, err, b.wantErr)
		}
	}
}

func TestPromoteArgs(t *testing.T) {
	bad := []struct {
		o       PromoteOptions
		wantErr string
	}{
		{PromoteOptions{From: "myacr.azurecr.io/orders:v1", To: "p.io/o", SourcePublicKey: "k", Signing: Signing{KeyFile: "k"}}, "not pinned to a digest"},
		{PromoteOptions{From: ref, To: "myacr.azurecr.io/orders", SourcePublicKey: "k", Signing: Signing{KeyFile: "k"}}, "is the repository the image comes from"},
		{PromoteOptions{From: ref, To: "p.io/o", Signing: Signing{KeyFile: "k"}}, "--source-public-key"},
		{PromoteOptions{From: ref, To: "p.io/o", SourcePublicKey: "k"}, "no signing key"},
	}
	for _, b := range bad {
		if _, err := PromoteArgs("release", b.o); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("PromoteArgs(%+v) error = %v, want %q", b.o, err, b.wantErr)
		}
	}
}

func TestAttestArgs(t *testing.T) {
	if _, err := AttestArgs("release", ref, "QA env", Signing{KeyFile: "k"}, "", false); err == nil || !strings.Contains(err.Error(), "--environment") {
		t.Fatalf("AttestArgs(QA env) error = %v", err)
	}
}

func TestDeployArgs(t *testing.T) {
	bad := []struct {
		o       DeployOptions
		wantErr string
	}{
		{DeployOptions{Environment: "staging", Image: "myacr.azurecr.io/orders:latest"}, "not pinned to a digest"},
		{DeployOptions{Environment: "Dev", Image: ref}, "--environment"},
		{DeployOptions{Environment: "../prod", Image: ref}, "--environment"},
		{DeployOptions{Environment: "staging", Image: ref, Namespace: "Orders_NS"}, "--namespace"},
		{DeployOptions{Environment: "staging", Image: ref, Timeout: "-1m"}, "--timeout"},
		{DeployOptions{Environment: "staging", Image: ref, Timeout: "soon"}, "--timeout"},
		{DeployOptions{Environment: "staging", Image: ref, Components: []string{"/etc"}}, "--component"},
		{DeployOptions{Environment: "staging", Image: ref, Components: []string{"--dry-run"}}, "--component"},
	}
	for _, b := range bad {
		if _, err := DeployArgs("deploy", b.o); err == nil || !strings.Contains(err.Error(), b.wantErr) {
			t.Errorf("DeployArgs(%+v) error = %v, want %q", b.o, err, b.wantErr)
		}
	}
	def, err := DeployArgs("deploy", DeployOptions{Environment: "staging", Image: ref})
	if err != nil || !strings.Contains(strings.Join(def, " "), "--timeout 5m0s --rollback=false") {
		t.Fatalf("DeployArgs defaults = %q, %v", def, err)
	}
}

func TestProvenanceArgs(t *testing.T) {
	pub, err := PublishArgs("release", PublishOptions{
		Layout: "/l", Repository: "r.example/o", Signing: Signing{KeyFile: "/k"},
		BuilderID: "https://dev.azure.com/o/p/_build?definitionId=1", SourceRevision: "abc", InvocationID: "42",
		BuildParameters: []string{"GOFLAGS=-trimpath"}, BaseImages: []string{"r.example/base@sha256:" + strings.Repeat("a", 64)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"release", "publish", "--layout", "/l", "--repository", "r.example/o", "--key", "/k",
		"--builder-id", "https://dev.azure.com/o/p/_build?definitionId=1", "--source-revision", "abc", "--invocation-id", "42",
		"--build-parameter", "GOFLAGS=-trimpath", "--base-image", "r.example/base@sha256:" + strings.Repeat("a", 64)}
	if !reflect.DeepEqual(pub, want) {
		t.Fatalf("PublishArgs = %q\nwant %q", pub, want)
	}
	if _, err := PublishArgs("release", PublishOptions{Layout: "/l", Repository: "r.example/o", Signing: Signing{KeyFile: "/k"}, BuildParameters: []string{"novalue"}}); err == nil ||
		!strings.Contains(err.Error(), `--build-parameter "novalue"`) {
		t.Fatalf("bad build parameter: %v", err)
	}
	pro, err := PromoteArgs("release", PromoteOptions{
		From: ref, To: "prodacr.azurecr.io/orders", SourcePublicKey: "/s.pub", Signing: Signing{KeyFile: "/p.key"},
		ExpectBuilder: "b", ExpectSourceRevision: "abc", AllowNoSBOM: true, AllowNoProvenance: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"release", "promote", "--from", ref, "--to", "prodacr.azurecr.io/orders", "--source-public-key", "/s.pub", "--key", "/p.key",
		"--expect-builder", "b", "--expect-source-revision", "abc", "--allow-no-sbom", "--allow-no-provenance"}
	if !reflect.DeepEqual(pro, want) {
		t.Fatalf("PromoteArgs = %q\nwant %q", pro, want)
	}
}
