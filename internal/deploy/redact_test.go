package deploy

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestRedactorCoversEncodings(t *testing.T) {
	const secret = "s3cr3t+/token=value?&x"
	r := newRedactor([]string{secret})
	b := []byte(secret)
	header := []byte("Authorization: Bearer " + secret)
	tests := []struct{ name, text string }{
		{"raw", "token " + secret + " refused"},
		{"base64", "body " + base64.StdEncoding.EncodeToString(b)},
		{"base64 unpadded", "body " + base64.RawStdEncoding.EncodeToString(b)},
		{"base64url", "body " + base64.URLEncoding.EncodeToString(b)},
		{"base64url unpadded", "body " + base64.RawURLEncoding.EncodeToString(b)},
		{"query-escaped", "GET /x?token=" + url.QueryEscape(secret)},
		{"path-escaped", "GET /x/" + url.PathEscape(secret)},
		{"inside an encoded header", "echo " + base64.StdEncoding.EncodeToString(header)},
		{"inside an encoded header, one byte on", "echo " + base64.StdEncoding.EncodeToString(append([]byte("x"), header...))},
		{"inside an encoded header, two bytes on", "echo " + base64.URLEncoding.EncodeToString(append([]byte("xy"), header...))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.clean(tc.text)
			if l := leaks(got, secret); len(l) > 0 {
				t.Errorf("clean(%q) = %q: %v", tc.text, got, l)
			}
			if !strings.Contains(got, redacted) {
				t.Errorf("clean(%q) = %q: nothing redacted", tc.text, got)
			}
			// The encoded header itself must not survive in a decodable
			// piece carrying the secret.
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				for _, w := range strings.Fields(got) {
					if dec, err := enc.DecodeString(w); err == nil && strings.Contains(string(dec), secret) {
						t.Errorf("clean(%q) still decodes to the secret: %q", tc.text, got)
					}
				}
			}
		})
	}
}

func TestRedactUserinfo(t *testing.T) {
	tests := []struct{ in, want string }{
		{`cannot reach https://bob:PASSw0rd@10.0.0.1:6443/version`, `cannot reach https://[REDACTED]@10.0.0.1:6443/version`},
		{`Get "https://tok@host/x": EOF`, `Get "https://[REDACTED]@host/x": EOF`},
		{`no userinfo https://host:443/a@b`, `no userinfo https://host:443/a@b`},
		{`mail bob@example.com stays`, `mail bob@example.com stays`},
	}
	for _, tc := range tests {
		if got := newRedactor(nil).clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactorLearnsAuthorizationHeaders(t *testing.T) {
	r := newRedactor(nil)
	r.addAuthorization("Bearer exec-plugin-token-0123")
	r.addAuthorization("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:basic-password-9")))
	got := r.clean("exec-plugin-token-0123 basic-password-9")
	if l := leaks(got, "exec-plugin-token-0123", "basic-password-9"); len(l) > 0 {
		t.Errorf("clean = %q: %v", got, l)
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor(rawSecrets([]byte("users:\n- name: a\n  user:\n    token: \"abcdefgh123\"\n    password: 'pw-123456'\n    username: bob\n")))
	got := r.clean("token abcdefgh123 and pw-123456 for bob")
	if got != "token [REDACTED] and [REDACTED] for bob" {
		t.Errorf("clean = %q", got)
	}
}
