package imageref

import (
	"strings"
	"testing"
)

const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseDigestRef(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    DigestRef
		wantErr string
	}{
		{name: "acr", in: "myacr.azurecr.io/orders@" + dgst, want: DigestRef{"myacr.azurecr.io/orders", dgst}},
		{name: "port and path", in: "registry.local:5000/team/orders@" + dgst, want: DigestRef{"registry.local:5000/team/orders", dgst}},
		{name: "surrounding space", in: "  myacr.azurecr.io/orders@" + dgst + "\n", want: DigestRef{"myacr.azurecr.io/orders", dgst}},
		{name: "empty", in: "", wantErr: "--image is empty"},
		{name: "tag", in: "myacr.azurecr.io/orders:v1", wantErr: "not pinned to a digest"},
		{name: "tag and digest", in: "myacr.azurecr.io/orders:v1@" + dgst, wantErr: "both a tag and a digest"},
		{name: "short digest", in: "myacr.azurecr.io/orders@sha256:abc", wantErr: "is not sha256:<64"},
		{name: "upper hex", in: "myacr.azurecr.io/orders@" + strings.ToUpper(dgst), wantErr: "is not sha256:<64"},
		{name: "docker hub shorthand", in: "library/orders@" + dgst, wantErr: "must be a registry host"},
		{name: "no path", in: "myacr.azurecr.io@" + dgst, wantErr: "is not a repository"},
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
		{"myacr.azurecr.io", "orders:v1", "", "without a tag"},
		{"myacr.azurecr.io", "Orders", "", "is not a repository"},
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
