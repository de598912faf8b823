package imageref

import (
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDigest(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "is empty"},
		{"reg.example:5000/orders:v1", "not pinned to a digest"},
		{"reg.example:5000/orders", "not pinned to a digest"},
		{"reg.example:5000/orders:v1@sha256:" + hex64, "both a tag and a digest"},
		{"reg.example:5000/orders@sha512:" + hex64, "only sha256"},
		{"reg.example:5000/orders@sha256:abc", "not a valid digest"},
		{"reg.example:5000/orders@sha256:" + hex64, ""},
		{"127.0.0.1:5000/team/orders@sha256:" + hex64, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := Digest("--from", tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d.String() != tt.in || d.DigestStr() != "sha256:"+hex64 {
					t.Fatalf("parsed %q (digest %s)", d.String(), d.DigestStr())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--from") {
				t.Fatalf("error %v; want it to name --from and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRepository(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", "is empty"},
		{"orders", "no registry host"},
		{"reg.example:5000/orders:v1", "contains a tag"},
		{"reg.example:5000/orders@sha256:" + hex64, "contains a digest"},
		{"reg.example:5000/Orders", "not a valid repository"},
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
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--to") {
				t.Fatalf("error %v; want it to name --to and contain %q", err, tt.wantErr)
			}
		})
	}
}
