package cmdline

import (
	"strings"
	"testing"
)

func TestVerifyArgs(t *testing.T) {
	const ref = "registry.example:5000/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name    string
		o       VerifyOptions
		want    string
		wantErr string
	}{
		{name: "plain http", o: VerifyOptions{Image: ref, PublicKey: "/k/cosign.pub", PlainHTTP: true},
			want: "release verify --image " + ref + " --public-key /k/cosign.pub --plain-http"},
		{name: "kms key", o: VerifyOptions{Image: ref, PublicKey: "azurekms://v.vault.azure.net/k"},
			want: "release verify --image " + ref + " --public-key azurekms://v.vault.azure.net/k"},
		{name: "tag", o: VerifyOptions{Image: "registry.example/orders:v1", PublicKey: "k"}, wantErr: "--image"},
		{name: "no key", o: VerifyOptions{Image: ref}, wantErr: "--public-key is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, err := VerifyArgs("release", tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(args, " "); got != tc.want {
				t.Errorf("args = %s\nwant   %s", got, tc.want)
			}
		})
	}
}
