package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-aks/pipeline/app/internal/observability"
	"github.com/go-aks/pipeline/app/internal/orders"
	"github.com/go-aks/pipeline/app/internal/store"
)

// fakeStore is an in-memory Store for unit tests of the HTTP layer; err,
// when set, is returned by every call.
type fakeStore struct {
	mu     sync.Mutex
	orders []orders.Order
	err    error
}

func (f *fakeStore) Create(_ context.Context, n orders.New) (orders.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return orders.Order{}, f.err
	}
	o := orders.Order{ID: int64(len(f.orders) + 1), CustomerID: n.CustomerID, Currency: n.Currency, Items: n.Items,
		TotalCents: n.Total(), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.orders = append(f.orders, o)
	return o, nil
}

func (f *fakeStore) Get(_ context.Context, id int64) (orders.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return orders.Order{}, f.err
	}
	if id < 1 || id > int64(len(f.orders)) {
		return orders.Order{}, store.ErrNotFound
	}
	return f.orders[id-1], nil
}

func (f *fakeStore) List(_ context.Context, q orders.ListQuery) ([]orders.Order, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, false, f.err
	}
	var out []orders.Order
	for _, o := range f.orders {
		if o.ID > q.After && (q.CustomerID == "" || o.CustomerID == q.CustomerID) {
			out = append(out, o)
		}
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

func (f *fakeStore) Ping(context.Context) error { return f.err }

var errDown = fmt.Errorf("ping: %w: connection refused", store.ErrUnavailable)

type harness struct {
	store    *fakeStore
	handler  http.Handler
	metrics  *observability.Metrics
	draining bool
	logs     *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{store: &fakeStore{}, metrics: observability.NewMetrics(), logs: &bytes.Buffer{}}
	tr, err := observability.NewTracing(context.Background(), "orders-test", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	h.handler = New(Options{
		Store:        h.store,
		Logger:       observability.NewLogger(h.logs, nil),
		MaxBodyBytes: 1024,
		ShuttingDown: func() bool { return h.draining },
		Metrics:      h.metrics.Handler(),
	}, Instrumentation{Metrics: h.metrics, Tracer: tr.Tracer, Propagator: tr.Propagator})
	return h
}

func (h *harness) do(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(context.Background(), method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

const validOrder = `{"customer_id":"c-1","currency":"EUR","items":[{"sku":"s-1","quantity":3,"unit_price_cents":199}]}`

func TestCreateAndGet(t *testing.T) {
	h := newHarness(t)
	rec := h.do(http.MethodPost, "/v1/orders", "application/json; charset=utf-8", validOrder)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/orders/1" {
		t.Fatalf("Location = %q", loc)
	}
	var created orders.Order
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != 1 || created.TotalCents != 597 || created.CustomerID != "c-1" {
		t.Fatalf("created = %+v", created)
	}
	rec = h.do(http.MethodGet, "/v1/orders/1", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("get: %d %s", rec.Code, rec.Body)
	}
	var got orders.Order
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != created.ID || got.TotalCents != created.TotalCents || len(got.Items) != 1 {
		t.Fatalf("get = %+v, want %+v", got, created)
	}
}

// TestBadInput: every bad request gets a 4xx with a JSON error body naming
// what is wrong.
func TestBadInput(t *testing.T) {
	big := `{"customer_id":"` + strings.Repeat("a", 2000) + `"}`
	tests := []struct {
		name, method, target, contentType, body string
		wantStatus                              int
		wantCode, wantField                     string
	}{
		{"malformed JSON", "POST", "/v1/orders", "application/json", `{"customer_id":`, 400, "malformed_json", ""},
		{"not JSON", "POST", "/v1/orders", "application/json", `hello`, 400, "malformed_json", ""},
		{"empty body", "POST", "/v1/orders", "application/json", ``, 400, "malformed_json", ""},
		{"two objects", "POST", "/v1/orders", "application/json", validOrder + validOrder, 400, "malformed_json", ""},
		{"unknown field", "POST", "/v1/orders", "application/json", `{"customer_id":"c","discount":5}`, 400, "unknown_field", "discount"},
		{"wrong type", "POST", "/v1/orders", "application/json", `{"customer_id":5}`, 400, "invalid_type", "customer_id"},
		{"number overflows int64", "POST", "/v1/orders", "application/json",
			`{"customer_id":"c","currency":"EUR","items":[{"sku":"s","quantity":1e30,"unit_price_cents":1}]}`, 400, "invalid_type", "items[0].quantity"},
		{"quantity out of range", "POST", "/v1/orders", "application/json",
			`{"customer_id":"c","currency":"EUR","items":[{"sku":"s","quantity":0,"unit_price_cents":1}]}`, 422, "invalid_field", "items[0].quantity"},
		{"negative price", "POST", "/v1/orders", "application/json",
			`{"customer_id":"c","currency":"EUR","items":[{"sku":"s","quantity":1,"unit_price_cents":-5}]}`, 422, "invalid_field", "items[0].unit_price_cents"},
		{"no items", "POST", "/v1/orders", "application/json", `{"customer_id":"c","currency":"EUR","items":[]}`, 422, "invalid_field", "items"},
		{"body over limit", "POST", "/v1/orders", "application/json", big, 413, "body_too_large", ""},
		{"wrong content type", "POST", "/v1/orders", "text/plain", validOrder, 415, "unsupported_media_type", ""},
		{"no content type", "POST", "/v1/orders", "", validOrder, 415, "unsupported_media_type", ""},
		{"id not a number", "GET", "/v1/orders/abc", "", "", 400, "invalid_id", "id"},
		{"id zero", "GET", "/v1/orders/0", "", "", 400, "invalid_id", "id"},
		{"id overflows", "GET", "/v1/orders/99999999999999999999", "", "", 400, "invalid_id", "id"},
		{"unknown order", "GET", "/v1/orders/42", "", "", 404, "not_found", ""},
		{"limit too large", "GET", "/v1/orders?limit=101", "", "", 400, "invalid_query", "limit"},
		{"limit zero", "GET", "/v1/orders?limit=0", "", "", 400, "invalid_query", "limit"},
		{"cursor forged", "GET", "/v1/orders?cursor=abc", "", "", 400, "invalid_query", "cursor"},
		{"bad customer filter", "GET", "/v1/orders?customer_id=a%20b", "", "", 400, "invalid_query", "customer_id"},
		{"method not allowed", "DELETE", "/v1/orders/1", "", "", 405, "method_not_allowed", ""},
		{"unknown route", "GET", "/v2/things", "", "", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			rec := h.do(tt.method, tt.target, tt.contentType, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, rec.Body)
			}
			if body.Error.Code != tt.wantCode || body.Error.Field != tt.wantField || body.Error.Message == "" {
				t.Fatalf("error = %+v, want code %q field %q", body.Error, tt.wantCode, tt.wantField)
			}
			if len(h.store.orders) != 0 {
				t.Fatal("a rejected request stored an order")
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 7; i++ {
		cust := "a"
		if i%2 == 1 {
			cust = "b"
		}
		body := strings.Replace(validOrder, "c-1", cust, 1)
		if rec := h.do("POST", "/v1/orders", "application/json", body); rec.Code != 201 {
			t.Fatal(rec.Body)
		}
	}
	tests := []struct {
		name    string
		query   string
		wantIDs [][]int64
	}{
		{"all in pages of 3", "limit=3", [][]int64{{1, 2, 3}, {4, 5, 6}, {7}}},
		{"customer a in pages of 2", "limit=2&customer_id=a", [][]int64{{1, 3}, {5, 7}}},
		{"default page size", "", [][]int64{{1, 2, 3, 4, 5, 6, 7}}},
		{"unknown customer", "customer_id=zzz", [][]int64{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor := ""
			for page, want := range tt.wantIDs {
				target := "/v1/orders?" + tt.query
				if cursor != "" {
					target += "&cursor=" + cursor
				}
				rec := h.do("GET", target, "", "")
				if rec.Code != 200 {
					t.Fatalf("page %d: %d %s", page, rec.Code, rec.Body)
				}
				var resp struct {
					Orders     []orders.Order `json:"orders"`
					NextCursor *string        `json:"next_cursor"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
					t.Fatal(err)
				}
				if resp.Orders == nil {
					t.Fatalf("page %d: orders is null, want an array", page)
				}
				var ids []int64
				for _, o := range resp.Orders {
					ids = append(ids, o.ID)
				}
				if fmt.Sprint(ids) != fmt.Sprint(want) && (len(ids) != 0 || len(want) != 0) {
					t.Fatalf("page %d ids = %v, want %v", page, ids, want)
				}
				last := page == len(tt.wantIDs)-1
				if last != (resp.NextCursor == nil) {
					t.Fatalf("page %d: next_cursor present = %v, want %v", page, resp.NextCursor != nil, !last)
				}
				if resp.NextCursor != nil {
					cursor = *resp.NextCursor
				}
			}
		})
	}
}

func TestFieldPath(t *testing.T) {
	tests := map[string]string{"customer_id": "customer_id", "items.0.quantity": "items[0].quantity", "items.12": "items[12]", "": ""}
	for in, want := range tests {
		if got := fieldPath(in); got != want {
			t.Errorf("fieldPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, id := range []int64{1, 42, 1<<63 - 1} {
		got, err := DecodeCursor(EncodeCursor(id))
		if err != nil || got != id {
			t.Errorf("DecodeCursor(EncodeCursor(%d)) = %d, %v", id, got, err)
		}
	}
	for _, bad := range []string{"", "!!", EncodeCursor(0), "bzE6LTE"} {
		if _, err := DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) succeeded", bad)
		}
	}
}

func TestDatabaseUnavailable(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		want                       int
	}{
		{"create", "POST", "/v1/orders", validOrder, 503},
		{"get", "GET", "/v1/orders/1", "", 503},
		{"list", "GET", "/v1/orders", "", 503},
		{"readyz", "GET", "/readyz", "", 503},
		{"healthz stays up", "GET", "/healthz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.store.err = errDown
			rec := h.do(tt.method, tt.target, "application/json", tt.body)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("body is not JSON: %s", rec.Body)
			}
		})
	}
	// A query error that is not an outage is a 500 without details.
	h := newHarness(t)
	h.store.err = errors.New("syntax error at or near SELEKT")
	rec := h.do("GET", "/v1/orders/1", "", "")
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "SELEKT") {
		t.Fatalf("query error: %d %s, want 500 without internals", rec.Code, rec.Body)
	}
}

func TestReadinessWhileDraining(t *testing.T) {
	h := newHarness(t)
	if rec := h.do("GET", "/readyz", "", ""); rec.Code != 200 {
		t.Fatalf("readyz before shutdown: %d", rec.Code)
	}
	h.draining = true
	rec := h.do("GET", "/readyz", "", "")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "shutting_down") {
		t.Fatalf("readyz while draining: %d %s", rec.Code, rec.Body)
	}
	// Requests are still served, but ask the client to reconnect elsewhere.
	rec = h.do("POST", "/v1/orders", "application/json", validOrder)
	if rec.Code != 201 || rec.Header().Get("Connection") != "close" {
		t.Fatalf("request while draining: %d, Connection=%q", rec.Code, rec.Header().Get("Connection"))
	}
}

func TestMetricsByRouteAndStatus(t *testing.T) {
	h := newHarness(t)
	h.do("POST", "/v1/orders", "application/json", validOrder)
	h.do("GET", "/v1/orders/1", "", "")
	h.do("GET", "/v1/orders/2", "", "")
	h.do("GET", "/nope", "", "")
	rec := h.do("GET", "/metrics", "", "")
	if rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	text := rec.Body.String()
	for _, want := range []string{
		`http_requests_total{code="201",method="POST",route="/v1/orders"} 1`,
		`http_requests_total{code="200",method="GET",route="/v1/orders/{id}"} 1`,
		`http_requests_total{code="404",method="GET",route="/v1/orders/{id}"} 1`,
		`http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`http_request_duration_seconds_bucket{code="201",method="POST",route="/v1/orders",le="+Inf"} 1`,
		"go_goroutines",
		"go_memstats_heap_alloc_bytes",
		"http_requests_in_flight",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestTraceContextPropagatesToLogs(t *testing.T) {
	h := newHarness(t)
	req := httptest.NewRequestWithContext(context.Background(), "GET", "/v1/orders", nil)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.handler.ServeHTTP(httptest.NewRecorder(), req)
	var rec map[string]any
	line, _ := io.ReadAll(h.logs)
	if err := json.Unmarshal(bytes.TrimSpace(line), &rec); err != nil {
		t.Fatalf("log is not one JSON line: %q", line)
	}
	if rec["trace_id"] != traceID || rec["span_id"] == nil || rec["route"] != "/v1/orders" || rec["status"] != float64(200) {
		t.Fatalf("request log = %v, want the incoming trace id and the route", rec)
	}
}

func TestPanicBecomes500(t *testing.T) {
	h := newHarness(t)
	h.handler = New(Options{Store: panicStore{&fakeStore{}}, Logger: observability.NewLogger(h.logs, nil)}, Instrumentation{Metrics: h.metrics})
	rec := h.do("GET", "/v1/orders/1", "", "")
	if rec.Code != 500 || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("panic: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(h.logs.String(), "panic serving request") {
		t.Fatal("panic not logged")
	}
}

type panicStore struct{ *fakeStore }

func (panicStore) Get(context.Context, int64) (orders.Order, error) { panic("boom") }
