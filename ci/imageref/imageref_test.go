package imageref

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

const (
	hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	dgst  = "sha256:" + hex64
)

func TestDigest(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"acr", "myacr.azurecr.io/orders@" + dgst, ""},
		{"port and path", "registry.local:5000/team/orders@" + dgst, ""},
		{"ip and port", "127.0.0.1:5000/team/orders@" + dgst, ""},
		{"localhost", "localhost/orders@" + dgst, ""},
		{"empty", "", "is empty"},
		{"blank", "  \n", "is empty"},
		{"tag", "myacr.azurecr.io/orders:v1", "not pinned to a digest"},
		{"implicit latest", "myacr.azurecr.io/orders", "not pinned to a digest"},
		{"tag and digest", "myacr.azurecr.io/orders:v1@" + dgst, "carries both a tag and a digest"},
		{"tag and digest with port", "registry.local:5000/orders:v1@" + dgst, "carries both a tag and a digest"},
		{"sha512", "myacr.azurecr.io/orders@sha512:" + hex64, "is not sha256:<64"},
		{"short digest", "myacr.azurecr.io/orders@sha256:abc", "is not sha256:<64"},
		{"upper hex", "myacr.azurecr.io/orders@" + strings.ToUpper(dgst), "is not sha256:<64"},
		{"docker hub shorthand", "library/orders@" + dgst, "must be a registry host"},
		{"bare name", "orders@" + dgst, "is not a repository REGISTRY/REPO"},
		{"no path", "myacr.azurecr.io@" + dgst, "is not a repository REGISTRY/REPO"},
		{"upper-case path", "myacr.azurecr.io/Orders@" + dgst, "is not a valid repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Digest("--image", tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d.String() != tt.in || d.DigestStr() != dgst {
					t.Fatalf("parsed %q (digest %s)", d.String(), d.DigestStr())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "--image") {
				t.Fatalf("error %v; want it to name --image and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDigestInsecureOption(t *testing.T) {
	d, err := Digest("--image", "127.0.0.1:5000/orders@"+dgst, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Context().Scheme(); got != "http" {
		t.Fatalf("scheme %q, want http for name.Insecure", got)
	}
}

func TestRepository(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "is empty"},
		{"orders", "is not a repository REGISTRY/REPO"},
		{"library/orders", "must be a registry host"},
		{"reg.example:5000/orders:v1", "contains a tag"},
		{"reg.example:5000/orders@" + dgst, "contains a digest"},
		{"reg.example:5000/Orders", "is not a valid repository"},
		{"reg.example:5000/orders", ""},
		{"prod.azurecr.io/team/orders", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Repository("--to", tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.String() != tt.in {
					t.Fatalf("parsed %q", r.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "--to") {
				t.Fatalf("error %v; want it to name --to and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseDigestRef(t *testing.T) {
	tests := []struct {
		name, in string
		want     DigestRef
		wantErr  string
	}{
		{name: "acr", in: "myacr.azurecr.io/orders@" + dgst, want: DigestRef{"myacr.azurecr.io/orders", dgst}},
		{name: "port and path", in: "registry.local:5000/team/orders@" + dgst, want: DigestRef{"registry.local:5000/team/orders", dgst}},
		{name: "surrounding space", in: "  myacr.azurecr.io/orders@" + dgst + "\n", want: DigestRef{"myacr.azurecr.io/orders", dgst}},
		{name: "empty", in: "", wantErr: "--image is empty"},
		{name: "tag and digest", in: "myacr.azurecr.io/orders:v1@" + dgst, wantErr: "--image \"myacr.azurecr.io/orders:v1@" + dgst + "\" carries both a tag and a digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDigestRef("image", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDigestRef(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDigestRef(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseDigestRef(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != strings.TrimSpace(tt.in) {
				t.Fatalf("String() = %q, want %q", got.String(), strings.TrimSpace(tt.in))
			}
		})
	}
}

func TestJoinRepository(t *testing.T) {
	tests := []struct {
		registry, repository, want, wantErr string
	}{
		{"myacr.azurecr.io", "orders", "myacr.azurecr.io/orders", ""},
		{"myacr.azurecr.io/", "/team/orders/", "myacr.azurecr.io/team/orders", ""},
		{"registry:5000", "orders", "registry:5000/orders", ""},
		{"", "orders", "", "--registry is empty"},
		{"myacr.azurecr.io", "", "", "--repository is empty"},
		{"myacr.azurecr.io/team", "orders", "", "must be a host[:port] only"},
		{"myacr.azurecr.io", "orders:v1", "", "contains a tag"},
		{"myacr.azurecr.io", "Orders", "", "is not a valid repository"},
	}
	for _, tt := range tests {
		got, err := JoinRepository("registry", tt.registry, "repository", tt.repository)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("JoinRepository(%q, %q) error = %v, want %q", tt.registry, tt.repository, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("JoinRepository(%q, %q) = %q, %v; want %q", tt.registry, tt.repository, got, err, tt.want)
		}
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{"registry:5000": "registry", "myacr.azurecr.io": "myacr.azurecr.io"} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (DigestRef{Repository: "r.example:5000/a/b", Digest: dgst}).Registry(); got != "r.example:5000" {
		t.Errorf("Registry() = %q", got)
	}
}
