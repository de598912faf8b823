// Package faultproxy is a loopback reverse proxy for tests, put in front of a
// real server (a registry) to count what goes through it and to inject
// faults: error answers, delays beyond the client's timeout, and connections
// cut in the middle of an upload.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault describes what to do to matching requests.
type Fault struct {
	// Match selects requests; nil matches all.
	Match func(*http.Request) bool
	// Times is how many matching requests get the fault; <0 means all.
	Times int
	// Status, when set, answers with this status instead of forwarding.
	Status int
	// Header is added to a Status answer (for example Retry-After).
	Header http.Header
	// Delay holds the request this long before handling it (a hung server,
	// for client timeouts).
	Delay time.Duration
	// CutAfter, when >0, forwards at most this many bytes of the request
	// body and then drops the client's connection (an interrupted upload).
	CutAfter int64
}

// Stats are counts since Start or the last Reset.
type Stats struct {
	Requests int64
	// Status401 counts answers 401 Unauthorized (credential attempts).
	Status401 int64
	// Faults counts requests a fault was applied to.
	Faults int64
	// Writes counts POST, PUT, PATCH and DELETE requests.
	Writes int64
	// BlobUploadBytes counts request body bytes sent to /blobs/uploads/.
	BlobUploadBytes int64
	// BlobUploads counts requests with a body to /blobs/uploads/.
	BlobUploads int64
	// ManifestPuts counts PUT /manifests/.
	ManifestPuts int64
}

// Proxy is a running fault-injecting reverse proxy.
type Proxy struct {
	// Host is "127.0.0.1:PORT"; use it as the registry host.
	Host string

	srv   *http.Server
	ln    net.Listener
	rp    *httputil.ReverseProxy
	mu    sync.Mutex
	fault *Fault
	left  int
	log   []string

	requests, status401, faults, writes, uploadBytes, uploads, manifestPuts atomic.Int64
}

// Start proxies 127.0.0.1:0 to the plain-HTTP server at target (host:port).
// ctx bounds only the setup; Close stops the proxy.
func Start(ctx context.Context, target string) (*Proxy, error) {
	u, err := url.Parse("http://" + target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{Host: ln.Addr().String(), ln: ln}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Keep the client's Host so the registry's Location headers
			// point back through the proxy.
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusUnauthorized {
				p.status401.Add(1)
			}
			p.record(resp.Request.Method + " " + resp.Request.URL.Path + " " + fmt.Sprint(resp.StatusCode))
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.record(r.Method + " " + r.URL.Path + " proxy-error")
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// SetFault installs f (nil removes the fault).
func (p *Proxy) SetFault(f *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
	if f != nil {
		p.left = f.Times
	}
}

// Stats returns the counts.
func (p *Proxy) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), Status401: p.status401.Load(), Faults: p.faults.Load(),
		Writes: p.writes.Load(), BlobUploadBytes: p.uploadBytes.Load(), BlobUploads: p.uploads.Load(),
		ManifestPuts: p.manifestPuts.Load(),
	}
}

// Reset zeroes the counts and the request log.
func (p *Proxy) Reset() {
	for _, c := range []*atomic.Int64{&p.requests, &p.status401, &p.faults, &p.writes, &p.uploadBytes, &p.uploads, &p.manifestPuts} {
		c.Store(0)
	}
	p.mu.Lock()
	p.log = nil
	p.mu.Unlock()
}

// Log returns "METHOD PATH STATUS" of each forwarded request.
func (p *Proxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		return p.srv.Close()
	}
	return nil
}

func (p *Proxy) record(s string) {
	p.mu.Lock()
	p.log = append(p.log, s)
	p.mu.Unlock()
}

// take returns the fault to apply to r, if any.
func (p *Proxy) take(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.fault
	if f == nil || (f.Match != nil && !f.Match(r)) || p.left == 0 {
		return nil
	}
	if p.left > 0 {
		p.left--
	}
	return f
}

// IsBlobUpload matches requests carrying blob data.
func IsBlobUpload(r *http.Request) bool {
	return strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut) && r.ContentLength != 0
}

// IsManifest matches manifest requests.
func IsManifest(r *http.Request) bool { return strings.Contains(r.URL.Path, "/manifests/") }

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		p.writes.Add(1)
	}
	if r.Method == http.MethodPut && IsManifest(r) {
		p.manifestPuts.Add(1)
	}
	upload := strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Body != nil && r.ContentLength != 0 &&
		(r.Method == http.MethodPatch || r.Method == http.MethodPut)
	if upload {
		p.uploads.Add(1)
		r.Body = &countingBody{rc: r.Body, n: &p.uploadBytes}
	}
	f := p.take(r)
	if f != nil {
		p.faults.Add(1)
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				p.record(r.Method + " " + r.URL.Path + " fault-delay-abandoned")
				return
			}
		}
		if f.CutAfter > 0 {
			_, _ = io.CopyN(io.Discard, r.Body, f.CutAfter)
			p.record(r.Method + " " + r.URL.Path + " fault-cut")
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic(http.ErrAbortHandler)
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST, like a dropped network path
				}
				_ = conn.Close()
			}
			return
		}
		if f.Status != 0 {
			p.record(r.Method + " " + r.URL.Path + " fault-" + fmt.Sprint(f.Status))
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			for k, v := range f.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}`)
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

type countingBody struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	if errors.Is(err, io.EOF) {
		return n, io.EOF
	}
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
