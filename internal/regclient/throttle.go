package regclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrThrottled marks a registry's 429 whose Retry-After lies beyond the
// time the caller has left: waiting would only end in the deadline.
var ErrThrottled = errors.New("throttled by the registry")

// DefaultMaxRetryAfter bounds one Retry-After wait when the request has no
// deadline.
const DefaultMaxRetryAfter = 5 * time.Minute

// throttleTransport honours Retry-After on 429 Too Many Requests (how ACR
// throttles): it waits as long as the registry asks before handing the
// answer to go-containerregistry's retry, so the next attempt comes no
// earlier than the registry allows. A wait that would outlast the request's
// context deadline (or MaxRetryAfter) is not started: the request fails at
// once with ErrThrottled, naming the wait asked for.
type throttleTransport struct {
	inner    http.RoundTripper
	maxWait  time.Duration
	now      func() time.Time
	waitFunc func(req *http.Request, d time.Duration) error
}

func (t *throttleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
	if !ok {
		return resp, nil // no usable header: the backoff decides
	}
	limit := t.maxWait
	if dl, has := req.Context().Deadline(); has {
		if left := dl.Sub(t.now()); left < limit {
			limit = left
		}
	}
	if wait > limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%s %s: registry %s answered 429 Too Many Requests with Retry-After %s, beyond the time left (%s): %w",
			req.Method, req.URL.Path, req.URL.Host, wait, limit.Round(time.Millisecond), ErrThrottled)
	}
	if err := t.waitFunc(req, wait); err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

func sleepCtx(req *http.Request, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-req.Context().Done():
		return fmt.Errorf("waiting %s for Retry-After of %s: %w", d, req.URL.Host, req.Context().Err())
	}
}

// parseRetryAfter reads Retry-After: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}
