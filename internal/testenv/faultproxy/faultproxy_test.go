package faultproxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A narrow test of the proxy itself against a stand-in backend.
func TestProxyFaultsAndCounts(t *testing.T) {
	var proxyHost string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Host != proxyHost {
			w.WriteHeader(http.StatusTeapot) // the registry must see the proxy's host (Location headers)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer backend.Close()
	p, err := Start(t.Context(), strings.TrimPrefix(backend.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	proxyHost = p.Host
	url := "http://" + p.Host + "/v2/repo/blobs/uploads/abc"
	patch := func(body []byte) (*http.Response, error) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return (&http.Client{Timeout: time.Second}).Do(req)
	}
	body := bytes.Repeat([]byte("x"), 4096)

	tests := []struct {
		name       string
		fault      *Fault
		wantStatus int // 0: connection error
	}{
		{"forwarded", nil, http.StatusAccepted},
		{"status fault", &Fault{Times: 1, Status: http.StatusServiceUnavailable}, http.StatusServiceUnavailable},
		{"cut upload", &Fault{Times: 1, CutAfter: 100, Match: IsBlobUpload}, 0},
		{"delay beyond client timeout", &Fault{Times: 1, Delay: 2 * time.Second}, 0},
		{"fault used up", &Fault{Times: 0, Status: http.StatusInternalServerError}, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.Reset()
			p.SetFault(tt.fault)
			resp, err := patch(body)
			if tt.wantStatus == 0 {
				if err == nil {
					_ = resp.Body.Close()
					t.Fatalf("status %d; want a connection error", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			st := p.Stats()
			if st.Requests != 1 || st.Writes != 1 || st.BlobUploads != 1 || st.BlobUploadBytes != int64(len(body)) {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
