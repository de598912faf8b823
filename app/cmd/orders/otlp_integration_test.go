//go:build integration

package main

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/go-aks/pipeline/app/internal/servicetest"
)

// collector is a minimal OTLP/HTTP trace receiver on loopback.
type collector struct {
	mu       sync.Mutex
	requests []*coltrace.ExportTraceServiceRequest
	errs     []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || err != nil {
		c.errs = append(c.errs, r.Method+" "+r.URL.Path)
		http.Error(w, "unexpected", http.StatusNotFound)
		return
	}
	var req coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		c.errs = append(c.errs, "decode: "+err.Error())
		http.Error(w, "bad protobuf", http.StatusBadRequest)
		return
	}
	c.requests = append(c.requests, &req)
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// TestTracesExportedOverOTLP runs the binary with OTEL_EXPORTER_OTLP_ENDPOINT
// pointing at a loopback collector: the server span of a request continues
// the caller's trace (W3C traceparent), carries the route and status, and
// has the database query as a child span.
func TestTracesExportedOverOTLP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	db, stopDB, err := servicetest.Database(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopDB()
	p, err := servicetest.StartOrders(ctx, binary, append(db.Env(), "SHUTDOWN_DRAIN_DELAY=0s",
		"OTEL_EXPORTER_OTLP_ENDPOINT="+srv.URL, "OTEL_SERVICE_NAME=orders-it"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Kill() }()

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.BaseURL+"/v1/orders",
		strings.NewReader(string(newOrderBody("otlp"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s", resp.Status)
	}
	if err := p.Stop(ctx); err != nil { // shutdown flushes the batch
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.errs) > 0 {
		t.Fatalf("collector errors: %v", col.errs)
	}
	var serverSpanID []byte
	var service string
	type span struct{ name, parent string }
	var spans []span
	for _, r := range col.requests {
		for _, rs := range r.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					if hex.EncodeToString(s.TraceId) != traceID {
						continue
					}
					spans = append(spans, span{s.Name, hex.EncodeToString(s.ParentSpanId)})
					if s.Name == "POST /v1/orders" {
						serverSpanID = s.SpanId
						attrs := map[string]bool{}
						for _, a := range s.Attributes {
							attrs[a.Key] = true
						}
						if !attrs["http.route"] || !attrs["http.response.status_code"] {
							t.Errorf("server span lacks route/status attributes: %v", s.Attributes)
						}
					}
				}
			}
		}
	}
	if service != "orders-it" {
		t.Errorf("service.name = %q, want orders-it (OTEL_SERVICE_NAME)", service)
	}
	if serverSpanID == nil {
		t.Fatalf("no server span \"POST /v1/orders\" in trace %s; spans: %v", traceID, spans)
	}
	foundDB := false
	for _, s := range spans {
		if s.name == "db.query" && s.parent == hex.EncodeToString(serverSpanID) {
			foundDB = true
		}
	}
	if !foundDB {
		t.Fatalf("no db.query span under the server span; spans: %v", spans)
	}
}
