package regclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

type answer struct {
	status int
	header http.Header
}

type scripted struct{ answers []answer }

func (s *scripted) RoundTrip(*http.Request) (*http.Response, error) {
	a := s.answers[0]
	s.answers = s.answers[1:]
	h := a.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// The transport waits what Retry-After asks before handing a 429 on, and
// refuses (without waiting) a wait beyond the request's deadline.
func TestThrottleTransport(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		header   string
		deadline time.Duration // 0: none
		wantWait time.Duration // -1: no wait
		wantErr  error
	}{
		{"seconds", "3", 0, 3 * time.Second, nil},
		{"http date", now.Add(4 * time.Second).Format(http.TimeFormat), 0, 4 * time.Second, nil},
		{"no header", "", 0, -1, nil},
		{"beyond the deadline", "120", 10 * time.Second, -1, ErrThrottled},
		{"beyond MaxRetryAfter", "600", 0, -1, ErrThrottled},
		{"within the deadline", "2", 10 * time.Second, 2 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("Retry-After", tt.header)
			}
			waited := time.Duration(-1)
			tr := &throttleTransport{
				inner: &scripted{answers: []answer{{http.StatusTooManyRequests, h}}}, maxWait: DefaultMaxRetryAfter,
				now:      func() time.Time { return now },
				waitFunc: func(_ *http.Request, d time.Duration) error { waited = d; return nil },
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tt.deadline))
				defer cancel()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://reg.example/v2/orders/manifests/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				defer func() { _ = resp.Body.Close() }()
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "Retry-After") || !strings.Contains(err.Error(), "reg.example") {
					t.Fatalf("err %v; want %v naming Retry-After and the registry", err, tt.wantErr)
				}
				if Retryable(err) {
					t.Fatal("a refused Retry-After wait is retried")
				}
			} else if err != nil || resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("resp %v err %v; want the 429 handed on", resp, err)
			}
			if waited != tt.wantWait {
				t.Fatalf("waited %s, want %s", waited, tt.wantWait)
			}
		})
	}
}
