package regclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Session is one authenticated transport to one repository, shared by
// every read and write of an operation: the registry is pinged and the
// token fetched once, not once per go-containerregistry puller and
// pusher.
type Session struct {
	c    *Client
	repo name.Repository
	rt   http.RoundTripper
}

// Session pings the registry and authenticates for repo (pull, or push
// and pull).
func (c *Client) Session(ctx context.Context, repo name.Repository, push bool) (*Session, error) {
	var auth authn.Authenticator
	if c.opts.Credentials.Username != "" {
		auth = authn.FromConfig(authn.AuthConfig{Username: c.opts.Credentials.Username, Password: c.opts.Credentials.Password})
	} else {
		a, err := authn.Resolve(ctx, authn.DefaultKeychain, repo)
		if err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
		}
		auth = a
	}
	scope := repo.Scope(transport.PullScope)
	if push {
		scope = repo.Scope(transport.PushScope)
	}
	// What go-containerregistry wraps around a transport it authenticates
	// itself; a transport.Wrapper tells it this one already is.
	rt := transport.NewRetry(rewind{c.transport},
		transport.WithRetryBackoff(c.remoteBackoff()),
		transport.WithRetryPredicate(Retryable),
		transport.WithRetryStatusCodes(retryStatusCodes...))
	rt = transport.NewUserAgent(rt, userAgent)
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, rt, []string{scope})
	if err != nil {
		return nil, err
	}
	return &Session{c: c, repo: repo, rt: rt}, nil
}

// Remote returns the go-containerregistry options that use the session.
func (s *Session) Remote(ctx context.Context) []remote.Option {
	return append(s.c.retryOptions(), remote.WithContext(ctx), remote.WithTransport(s.rt))
}

// UploadBlob puts a small blob (an attachment's layer or config, held in
// memory) in two requests: the POST that opens the upload, and one PUT
// carrying the content and its digest (the distribution spec's
// monolithic upload). go-containerregistry's general path spends four: a
// HEAD to skip a blob that is there, the POST, a PATCH with the content
// and a PUT to commit. A blob that is there already is simply stored
// again (registries deduplicate by digest). The upload is retried whole,
// like go-containerregistry's, on the client's transient failures.
func (s *Session) UploadBlob(ctx context.Context, l v1.Layer) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		return fmt.Errorf("read blob %s: %w", d, err)
	}
	if h, _, err := v1.SHA256(bytes.NewReader(data)); err != nil || h != d {
		return fmt.Errorf("blob %s: content does not match its digest", d)
	}
	client := &http.Client{Transport: s.rt}
	var last error
	err = wait.ExponentialBackoffWithContext(ctx, s.c.waitBackoff(), func(ctx context.Context) (bool, error) {
		last = s.uploadOnce(ctx, client, d, data)
		if last == nil {
			return true, nil
		}
		if Retryable(last) {
			return false, nil
		}
		return false, last
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

func (s *Session) uploadOnce(ctx context.Context, client *http.Client, d v1.Hash, data []byte) error {
	u := url.URL{Scheme: s.repo.Scheme(), Host: s.repo.RegistryStr(), Path: "/v2/" + s.repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return err
	}
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("POST %s: no upload location: %w", u.Path, err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), replayBody(data))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	put, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = put.Body.Close() }()
	if err := transport.CheckError(put, http.StatusCreated); err != nil {
		return err
	}
	if got := put.Header.Get("Docker-Content-Digest"); got != "" && got != d.String() {
		return fmt.Errorf("PUT %s: registry stored %s, want %s", loc.Path, got, d)
	}
	return nil
}

// rewind gives each attempt of a request whose body is a replayBody a
// fresh reader over its bytes: go-containerregistry's retrying transport
// sends the same request again, whose body a failed attempt has consumed.
// Other requests pass unchanged.
type rewind struct{ inner http.RoundTripper }

func (t rewind) RoundTrip(req *http.Request) (*http.Response, error) {
	b, ok := req.Body.(replayBody)
	if !ok {
		return t.inner.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	return t.inner.RoundTrip(r)
}

// replayBody is a request body held in memory, sent whole by every
// attempt (see rewind).
type replayBody []byte

func (replayBody) Read([]byte) (int, error) { return 0, io.EOF }
func (replayBody) Close() error             { return nil }
