package deploy

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// minSecretLen is the shortest value treated as a secret: shorter ones would
// mask ordinary words.
const minSecretLen = 6

// redactor removes every credential deploy holds from text: each secret in
// raw form, base64 (standard and URL alphabet, padded or not, also where the
// secret sits at any offset inside a longer encoded text), URL-encoded
// (query and path escaping), and the userinfo of any URL in the text
// (https://user:PASS@host). Values are added as they become known (the
// kubeconfig, files it points to, the Authorization headers deploy sends),
// so it is safe for concurrent use.
type redactor struct {
	mu    sync.RWMutex
	forms map[string]bool
	order []string // longest first, so that a longer form is replaced whole
}

const redacted = "[REDACTED]"

func newRedactor(s []string) *redactor {
	r := &redactor{forms: map[string]bool{}}
	r.add(s...)
	return r
}

// add registers secret values (empty and short values are ignored).
func (r *redactor) add(s ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, v := range s {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen {
			continue
		}
		for _, f := range secretForms(v) {
			if len(f) >= minSecretLen && !r.forms[f] {
				r.forms[f] = true
				r.order = append(r.order, f)
				changed = true
			}
		}
	}
	if changed {
		sortLongestFirst(r.order)
	}
}

// addAuthorization registers the credentials of an Authorization header
// value ("Bearer TOKEN", "Basic BASE64(user:password)").
func (r *redactor) addAuthorization(h string) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return
	}
	cred = strings.TrimSpace(cred)
	r.add(cred)
	if strings.EqualFold(scheme, "basic") {
		if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
			if _, pw, ok := strings.Cut(string(raw), ":"); ok {
				r.add(pw)
			}
		}
	}
}

// clean returns s with every known secret form and URL userinfo replaced.
func (r *redactor) clean(s string) string {
	if r == nil {
		return redactUserinfo(s)
	}
	r.mu.RLock()
	for _, v := range r.order {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	r.mu.RUnlock()
	return redactUserinfo(s)
}

// wrap is a client-go transport wrapper that records the Authorization
// header of every request (after client-go set it from a token, a token
// file or an exec credential plugin), so that a server echoing it back in
// any of the forms above is redacted too.
func (r *redactor) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if h := req.Header.Get("Authorization"); h != "" {
			r.addAuthorization(h)
		}
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// secretForms are the spellings of v that may appear in a message.
func secretForms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		out = append(out, base64Infixes(enc, []byte(v))...)
	}
	return out
}

// base64Infixes are the characters of enc's encoding of v that do not depend
// on what surrounds v, for each of the three alignments v can have inside a
// longer encoded text (a token echoed inside an encoded header or body).
func base64Infixes(enc *base64.Encoding, v []byte) []string {
	var out []string
	for shift := 0; shift < 3; shift++ {
		buf := append(make([]byte, shift), v...)
		s := enc.WithPadding(base64.NoPadding).EncodeToString(buf)
		// Characters that mix prefix bytes with v's: ceil(shift*8/6).
		start := (shift*8 + 5) / 6
		// Characters made only of v's bits end before the last partial one.
		end := len(buf) * 8 / 6
		if end-start >= minSecretLen {
			out = append(out, s[start:end])
		}
	}
	return out
}

func sortLongestFirst(s []string) {
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
}

// userinfoRE matches the userinfo of a URL: scheme://USERINFO@.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#@\s"']+@`)

// redactUserinfo replaces the userinfo of every URL in s.
func redactUserinfo(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}"+redacted+"@")
}

// redactURL is u without userinfo, for messages that name a server.
func redactURL(u string) string { return redactUserinfo(u) }
