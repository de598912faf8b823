// Package regclient configures go-containerregistry for one registry:
// credentials, plain HTTP, per-request timeouts, bounded exponential retry of
// transient failures (5xx, timeouts, dropped connections, 429 after the
// registry's Retry-After) and never of authentication or authorisation
// failures, byte counting, and error messages
// that name the registry and the fix.
package regclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Credentials are a registry username and password (or token). String and
// GoString never reveal the password.
type Credentials struct {
	Username string
	Password string
}

// String implements fmt.Stringer without the password.
func (c Credentials) String() string {
	if c.Username == "" {
		return "anonymous"
	}
	return "user " + c.Username
}

// GoString implements fmt.GoStringer without the password.
func (c Credentials) GoString() string { return "regclient.Credentials{" + c.String() + "}" }

// CredentialsFromEnv reads credentials from the two environment variables
// through getenv (os.Getenv when nil). Both unset means anonymous (or the
// Docker config keychain); one without the other is an error naming the
// missing variable.
func CredentialsFromEnv(getenv func(string) string, userVar, passVar string) (Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Credentials{Username: getenv(userVar), Password: getenv(passVar)}
	switch {
	case c.Username != "" && c.Password == "":
		return Credentials{}, fmt.Errorf("%s is set but %s is empty: set both (the password or token), or neither for anonymous access", userVar, passVar)
	case c.Username == "" && c.Password != "":
		return Credentials{}, fmt.Errorf("%s is set but %s is empty: set both (the user name, for ACR tokens the token name), or neither", passVar, userVar)
	}
	return c, nil
}

// Backoff is a bounded exponential backoff: Steps attempts in all, waiting
// Initial, Initial*Factor, ... (capped at Max) between them.
type Backoff struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
	Steps   int
}

// DefaultBackoff tries 5 times over about 15 seconds.
var DefaultBackoff = Backoff{Initial: time.Second, Factor: 2, Max: 8 * time.Second, Steps: 5}

// Counter counts what went over the wire to one registry. Safe for
// concurrent use.
type Counter struct {
	Requests      atomic.Int64
	BytesSent     atomic.Int64 // request bodies (blob and manifest uploads)
	BytesReceived atomic.Int64 // response bodies (blob and manifest downloads)
	BlobUploads   atomic.Int64 // PUT/PATCH/POST requests with a body under /blobs/uploads/
}

// Options configure a Client.
type Options struct {
	// Credentials for the registry; empty means the Docker config keychain
	// (for example after `az acr login`) or anonymous.
	Credentials Credentials
	// PlainHTTP talks HTTP instead of HTTPS (loopback and test registries).
	PlainHTTP bool
	// Backoff bounds retries of transient failures; zero: DefaultBackoff.
	Backoff Backoff
	// RequestTimeout bounds the wait for a response's headers and each
	// connection attempt; default 30s.
	RequestTimeout time.Duration
	// Transport is the base transport; default a clone of
	// http.DefaultTransport with the timeouts above.
	Transport http.RoundTripper
	// Counter, when set, receives request and byte counts.
	Counter *Counter
	// CredentialsHint names where the credentials come from, for error
	// messages (for example "REGISTRY_USERNAME/REGISTRY_PASSWORD").
	CredentialsHint string
	// MaxRetryAfter bounds how long one 429's Retry-After is waited for
	// when the request's context has no deadline (with a deadline, the
	// time left bounds it); default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// Client holds the go-containerregistry options for one registry.
type Client struct {
	opts      Options
	transport http.RoundTripper
}

// New returns a Client for the options.
func New(opts Options) *Client {
	if opts.Backoff.Steps <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = opts.RequestTimeout
		t.DialContext = (&net.Dialer{Timeout: opts.RequestTimeout, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = opts.RequestTimeout
		t.MaxIdleConnsPerHost = 16
		base = t
	}
	if opts.Counter != nil {
		base = &countingTransport{inner: base, c: opts.Counter}
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = DefaultMaxRetryAfter
	}
	base = &throttleTransport{inner: base, maxWait: opts.MaxRetryAfter, now: time.Now, waitFunc: sleepCtx}
	return &Client{opts: opts, transport: base}
}

// NameOptions are the options to parse references for this registry.
func (c *Client) NameOptions() []name.Option {
	if c.opts.PlainHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Remote returns the go-containerregistry options: credentials, transport
// and the retry policy.
func (c *Client) Remote(ctx context.Context) []remote.Option {
	opts := append(c.retryOptions(), remote.WithContext(ctx), remote.WithTransport(c.transport), remote.WithUserAgent(userAgent))
	if c.opts.Credentials.Username != "" {
		opts = append(opts, remote.WithAuth(authn.FromConfig(authn.AuthConfig{
			Username: c.opts.Credentials.Username,
			Password: c.opts.Credentials.Password,
		})))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	return opts
}

const userAgent = "go-aks-pipeline-release"

// retryOptions are go-containerregistry's per-operation retries: the
// client's backoff, Retryable and the transient status codes.
func (c *Client) retryOptions() []remote.Option {
	return []remote.Option{
		remote.WithRetryBackoff(c.remoteBackoff()),
		remote.WithRetryPredicate(Retryable),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
}

func (c *Client) remoteBackoff() remote.Backoff {
	return remote.Backoff(c.waitBackoff())
}

func (c *Client) waitBackoff() wait.Backoff {
	return wait.Backoff{
		Duration: c.opts.Backoff.Initial,
		Factor:   c.opts.Backoff.Factor,
		Jitter:   0.1,
		Steps:    c.opts.Backoff.Steps,
		Cap:      c.opts.Backoff.Max,
	}
}

var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// Retryable reports whether err is a transient failure worth retrying:
// a 408/429/5xx answer, a timeout, or a dropped or refused connection.
// Authentication and authorisation failures (401/403), other 4xx answers,
// cancelled contexts and anything else are not.
//
// A request that timed out is retried even though Go reports it as a
// context.DeadlineExceeded; when the caller's own context has expired the
// remaining attempts fail at once, so the retries stay bounded.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrThrottled) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, code := range retryStatusCodes {
			if terr.StatusCode == code {
				return true
			}
		}
		return false
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// StatusCode returns the HTTP status of a registry error, or 0.
func StatusCode(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}

// Explain wraps a registry error with what was being done, the registry and
// the likely fix.
func (c *Client) Explain(err error, action, registry string) error {
	if err == nil {
		return nil
	}
	hint := c.opts.CredentialsHint
	if hint == "" {
		hint = "the registry credentials"
	}
	switch code := StatusCode(err); {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%s: registry %s rejected the credentials (401 Unauthorized, not retried): check %s: %w", action, registry, hint, err)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: registry %s denied access (403 Forbidden, not retried): give the identity in %s pull/push rights on the repository: %w", action, registry, hint, err)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s: registry %s has no such manifest (404): check the repository and digest: %w", action, registry, err)
	case code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout:
		return fmt.Errorf("%s: registry %s kept failing (HTTP %d) after %d attempts with backoff: retry later or check the registry's health: %w", action, registry, code, c.opts.Backoff.Steps, err)
	case errors.Is(err, ErrThrottled):
		return fmt.Errorf("%s: registry %s is throttling and asks for a longer wait than the time left (not retried): retry later or raise --timeout: %w", action, registry, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: registry %s: cancelled: %w", action, registry, err)
	case Retryable(err) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: registry %s unreachable or not answering after %d attempts with backoff (timeout %s per request): check the address, network and registry health: %w", action, registry, c.opts.Backoff.Steps, c.opts.RequestTimeout, err)
	case strings.Contains(err.Error(), "http: server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s: registry %s speaks plain HTTP: pass --plain-http: %w", action, registry, err)
	}
	return fmt.Errorf("%s: registry %s: %w", action, registry, err)
}

type countingTransport struct {
	inner http.RoundTripper
	c     *Counter
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.Requests.Add(1)
	if req.Body != nil && req.Body != http.NoBody {
		if strings.Contains(req.URL.Path, "/blobs/uploads/") {
			t.c.BlobUploads.Add(1)
		}
		req = req.Clone(req.Context())
		req.Body = &countingReader{rc: req.Body, n: &t.c.BytesSent}
	}
	resp, err := t.inner.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &countingReader{rc: resp.Body, n: &t.c.BytesReceived}
	}
	return resp, err
}

type countingReader struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.n.Add(int64(n))
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }

// String describes the client without its credentials' secret.
func (c *Client) String() string {
	return fmt.Sprintf("regclient.Client{%s, plainHTTP=%v, attempts=%d}", c.opts.Credentials, c.opts.PlainHTTP, c.opts.Backoff.Steps)
}

// GoString is String, so %#v does not print the password either.
func (c *Client) GoString() string { return c.String() }
