//go:build acceptance

package acceptance

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var client = &http.Client{Timeout: 15 * time.Second}

// noAnswer holds the first request that got no HTTP answer at all (refused,
// timed out): the deployment is unreachable, and every later request fails
// at once, naming it, instead of waiting out its own timeout.
var noAnswer atomic.Pointer[string]

type item struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

type order struct {
	ID         int64     `json:"id"`
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	Items      []item    `json:"items"`
	TotalCents int64     `json:"total_cents"`
	CreatedAt  time.Time `json:"created_at"`
}

type page struct {
	Orders     []order `json:"orders"`
	NextCursor string  `json:"next_cursor"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// customer returns a customer id no other run uses, so tests only ever see
// their own orders on a shared deployment.
func customer(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "acc-" + hex.EncodeToString(b)
}

// reply is a response read in full.
type reply struct {
	StatusCode int
	Status     string
	Header     http.Header
}

func call(t *testing.T, method, path, contentType string, body []byte) (reply, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, baseURL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if first := noAnswer.Load(); first != nil {
		t.Fatalf("%s %s: not sent: the deployment at %s is unreachable (%s)", method, path, baseURL, *first)
	}
	resp, err := client.Do(req)
	if err != nil {
		if t.Context().Err() == nil {
			why := fmt.Sprintf("%s %s got no answer: %v", method, path, err)
			noAnswer.CompareAndSwap(nil, &why)
		}
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return reply{StatusCode: resp.StatusCode, Status: resp.Status, Header: resp.Header}, b
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("response is not the expected JSON: %v: %s", err, b)
	}
}

func create(t *testing.T, cust string, qty int64) order {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"customer_id": cust, "currency": "EUR",
		"items": []item{{SKU: "sku-a", Quantity: qty, UnitPriceCents: 125}, {SKU: "sku-b", Quantity: 1, UnitPriceCents: 10}}})
	resp, b := call(t, http.MethodPost, "/v1/orders", "application/json", body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %s %s", resp.Status, b)
	}
	var o order
	decode(t, b, &o)
	if resp.Header.Get("Location") != fmt.Sprintf("/v1/orders/%d", o.ID) {
		t.Fatalf("Location = %q for order %d", resp.Header.Get("Location"), o.ID)
	}
	return o
}

func TestHealthAndReadiness(t *testing.T) {
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, b := call(t, http.MethodGet, path, "", nil)
		if resp.StatusCode != http.StatusOK || !json.Valid(b) {
			t.Errorf("GET %s: %s %s", path, resp.Status, b)
		}
	}
}

func TestMetricsExposed(t *testing.T) {
	call(t, http.MethodGet, "/v1/orders?limit=1", "", nil)
	resp, b := call(t, http.MethodGet, "/metrics", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	// Behind a load balancer the scrape may reach another replica than the
	// request above, so only the families are checked, not this request.
	for _, want := range []string{`http_requests_total{code=`, `http_request_duration_seconds_bucket{code=`, `route="`, "go_goroutines"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestCreateAndGetOrder(t *testing.T) {
	cust := customer(t)
	created := create(t, cust, 4)
	if created.CustomerID != cust || created.TotalCents != 4*125+10 || created.Currency != "EUR" || len(created.Items) != 2 {
		t.Fatalf("created order = %+v", created)
	}
	if d := time.Since(created.CreatedAt); d < -time.Minute || d > 10*time.Minute {
		t.Fatalf("created_at %v is not now", created.CreatedAt)
	}
	resp, b := call(t, http.MethodGet, fmt.Sprintf("/v1/orders/%d", created.ID), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %s %s", resp.Status, b)
	}
	var got order
	decode(t, b, &got)
	if got.ID != created.ID || got.TotalCents != created.TotalCents || !got.CreatedAt.Equal(created.CreatedAt) ||
		fmt.Sprint(got.Items) != fmt.Sprint(created.Items) {
		t.Fatalf("get = %+v, want %+v", got, created)
	}
}

func TestListOwnOrdersInPages(t *testing.T) {
	cust := customer(t)
	var want []int64
	for i := 1; i <= 5; i++ {
		want = append(want, create(t, cust, int64(i)).ID)
	}
	var got []int64
	cursor, pages := "", 0
	for {
		q := url.Values{"customer_id": {cust}, "limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		resp, b := call(t, http.MethodGet, "/v1/orders?"+q.Encode(), "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list: %s %s", resp.Status, b)
		}
		var p page
		decode(t, b, &p)
		pages++
		for _, o := range p.Orders {
			if o.CustomerID != cust {
				t.Fatalf("list filtered by %s returned an order of %s", cust, o.CustomerID)
			}
			got = append(got, o.ID)
		}
		if p.NextCursor == "" || pages > 10 {
			break
		}
		cursor = p.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("paged ids %v in %d pages, want %v in 3", got, pages, want)
	}
}

func TestConcurrentCreates(t *testing.T) {
	cust := customer(t)
	const n = 16
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids <- create(t, cust, 1).ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	resp, b := call(t, http.MethodGet, "/v1/orders?limit=100&customer_id="+cust, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %s %s", resp.Status, b)
	}
	var p page
	decode(t, b, &p)
	if len(seen) != n || len(p.Orders) != n {
		t.Fatalf("%d distinct ids created, %d listed; want %d", len(seen), len(p.Orders), n)
	}
	for _, o := range p.Orders {
		if !seen[o.ID] {
			t.Fatalf("listed order %d was not created by this test", o.ID)
		}
	}
}

// TestRejectsBadInput: bad requests get a 4xx with a JSON error body, and
// nothing is stored.
func TestRejectsBadInput(t *testing.T) {
	cust := customer(t)
	valid := fmt.Sprintf(`{"customer_id":%q,"currency":"EUR","items":[{"sku":"s","quantity":1,"unit_price_cents":1}]}`, cust)
	huge := fmt.Sprintf(`{"customer_id":%q,"currency":"EUR","items":[{"sku":"%s","quantity":1,"unit_price_cents":1}]}`, cust, strings.Repeat("x", 200<<10)) // over the 64 KiB default, under the server's 256 KiB discard limit
	tests := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"malformed JSON", "POST", "/v1/orders", "application/json", `{"customer_id":"` + cust, 400, "malformed_json"},
		{"unknown field", "POST", "/v1/orders", "application/json", strings.Replace(valid, `"currency"`, `"coupon":"FREE","currency"`, 1), 400, "unknown_field"},
		{"quantity out of range", "POST", "/v1/orders", "application/json", strings.Replace(valid, `"quantity":1`, `"quantity":1000000`, 1), 422, "invalid_field"},
		{"negative price", "POST", "/v1/orders", "application/json", strings.Replace(valid, `"unit_price_cents":1`, `"unit_price_cents":-1`, 1), 422, "invalid_field"},
		{"bad currency", "POST", "/v1/orders", "application/json", strings.Replace(valid, `"EUR"`, `"euro"`, 1), 422, "invalid_field"},
		{"oversized body", "POST", "/v1/orders", "application/json", huge, 413, "body_too_large"},
		{"not JSON content", "POST", "/v1/orders", "text/plain", valid, 415, "unsupported_media_type"},
		{"bad id", "GET", "/v1/orders/not-a-number", "", "", 400, "invalid_id"},
		{"missing order", "GET", "/v1/orders/9223372036854775807", "", "", 404, "not_found"},
		{"forged cursor", "GET", "/v1/orders?cursor=Zm9v", "", "", 400, "invalid_query"},
		{"limit too large", "GET", "/v1/orders?limit=1000", "", "", 400, "invalid_query"},
		{"method not allowed", "PUT", "/v1/orders", "application/json", valid, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := call(t, tt.method, tt.path, tt.contentType, []byte(tt.body))
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: %s %s, want %d", tt.method, tt.path, resp.Status, b, tt.status)
			}
			var e apiError
			decode(t, b, &e)
			if e.Error.Code != tt.code || e.Error.Message == "" {
				t.Fatalf("error body %s, want code %q with a message", b, tt.code)
			}
		})
	}
	resp, b := call(t, http.MethodGet, "/v1/orders?customer_id="+cust, "", nil)
	var p page
	decode(t, b, &p)
	if resp.StatusCode != http.StatusOK || len(p.Orders) != 0 {
		t.Fatalf("rejected requests stored %d orders", len(p.Orders))
	}
}
