package deploy

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// leaks returns what of secrets appears in text, in any of the forms a
// credential may travel in: raw, base64 (standard and URL alphabet, padded
// or not), URL-encoded (query and path escaping). It is the tests' own
// search, independent of the redactor it checks.
func leaks(text string, secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		b := []byte(s)
		forms := map[string]string{
			"raw":             s,
			"base64":          base64.StdEncoding.EncodeToString(b),
			"base64 unpadded": base64.RawStdEncoding.EncodeToString(b),
			"base64url":       base64.URLEncoding.EncodeToString(b),
			"base64url raw":   base64.RawURLEncoding.EncodeToString(b),
			"query-escaped":   url.QueryEscape(s),
			"path-escaped":    url.PathEscape(s),
		}
		for form, f := range forms {
			if strings.Contains(text, f) {
				out = append(out, form+" form of "+s[:3]+"...")
			}
		}
	}
	return out
}
