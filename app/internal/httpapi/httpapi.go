// Package httpapi serves the orders API and the operational endpoints
// (/healthz, /readyz, /metrics) over HTTP with JSON bodies.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-aks/pipeline/app/internal/orders"
	"github.com/go-aks/pipeline/app/internal/store"
)

// Store is what the API needs from the database.
type Store interface {
	Create(ctx context.Context, o orders.New) (orders.Order, error)
	Get(ctx context.Context, id int64) (orders.Order, error)
	List(ctx context.Context, q orders.ListQuery) ([]orders.Order, bool, error)
	Ping(ctx context.Context) error
}

// Options configure the API.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// RequestTimeout bounds the database work of one request.
	RequestTimeout time.Duration
	// ShuttingDown reports that the server is draining: /readyz fails and
	// responses close their connections.
	ShuttingDown func() bool
	// Metrics is served at /metrics when set.
	Metrics http.Handler
}

type api struct {
	Options
}

// Routes returns the API's routes without middleware; New wraps them.
func routes(a *api) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", a.healthz)
	mux.HandleFunc("/readyz", a.readyz)
	if a.Metrics != nil {
		mux.Handle("/metrics", a.Metrics)
	}
	mux.HandleFunc("/v1/orders", a.orders)
	mux.HandleFunc("/v1/orders/{id}", a.order)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route for "+r.URL.Path, "")
	})
	return mux
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if a.ShuttingDown != nil && a.ShuttingDown() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(a.RequestTimeout, 2*time.Second))
	defer cancel()
	if err := a.Store.Ping(ctx); err != nil {
		a.Logger.WarnContext(r.Context(), "readiness: database unreachable", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (a *api) orders(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		a.create(w, r)
	case http.MethodGet, http.MethodHead:
		a.list(w, r)
	default:
		allow(w, r, http.MethodGet, http.MethodPost)
	}
}

func (a *api) order(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_id", "order id must be a positive integer", "id")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.RequestTimeout)
	defer cancel()
	o, err := a.Store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("order %d does not exist", id), "")
		return
	}
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	var in orders.New
	if !a.decode(w, r, &in) {
		return
	}
	if err := in.Validate(); err != nil {
		var fe *orders.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusUnprocessableEntity, "invalid_field", fe.Error(), fe.Field)
			return
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid_order", err.Error(), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.RequestTimeout)
	defer cancel()
	o, err := a.Store.Create(ctx, in)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/orders/"+strconv.FormatInt(o.ID, 10))
	writeJSON(w, http.StatusCreated, o)
}

// listResponse is a page of orders; NextCursor fetches the next page.
type listResponse struct {
	Orders     []orders.Order `json:"orders"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	q, field, err := parseListQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_query", err.Error(), field)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.RequestTimeout)
	defer cancel()
	list, more, err := a.Store.List(ctx, q)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	resp := listResponse{Orders: list}
	if resp.Orders == nil {
		resp.Orders = []orders.Order{}
	}
	if more {
		resp.NextCursor = EncodeCursor(list[len(list)-1].ID)
	}
	writeJSON(w, http.StatusOK, resp)
}

func parseListQuery(v map[string][]string) (orders.ListQuery, string, error) {
	get := func(k string) string {
		if vs := v[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	q := orders.ListQuery{Limit: orders.DefaultPageSize, CustomerID: get("customer_id")}
	if raw := get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > orders.MaxPageSize {
			return q, "limit", fmt.Errorf("limit must be an integer from 1 to %d", orders.MaxPageSize)
		}
		q.Limit = n
	}
	if raw := get("cursor"); raw != "" {
		after, err := DecodeCursor(raw)
		if err != nil {
			return q, "cursor", err
		}
		q.After = after
	}
	if q.CustomerID != "" {
		probe := orders.New{CustomerID: q.CustomerID, Currency: "EUR", Items: []orders.Item{{SKU: "x", Quantity: 1}}}
		if err := probe.Validate(); err != nil {
			return q, "customer_id", err
		}
	}
	return q, "", nil
}

const cursorPrefix = "o1:"

// EncodeCursor makes the opaque cursor for the page after order id.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

// DecodeCursor reverses EncodeCursor.
func DecodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(b), cursorPrefix) {
		id, perr := strconv.ParseInt(strings.TrimPrefix(string(b), cursorPrefix), 10, 64)
		if perr == nil && id > 0 {
			return id, nil
		}
	}
	return 0, errors.New("cursor is not a next_cursor value returned by this API")
}

// decode reads a single JSON object into dst, rejecting unknown fields,
// trailing data and bodies over the limit. It writes the error response and
// returns false on failure.
func (a *api) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json", "")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		if extra := dec.Decode(&struct{}{}); !errors.Is(extra, io.EOF) {
			err = errTrailing
			var mbe *http.MaxBytesError
			if errors.As(extra, &mbe) {
				err = extra
			}
		}
	}
	if err == nil {
		return true
	}
	status, code, msg, field := decodeError(err, a.MaxBodyBytes)
	writeError(w, status, code, msg, field)
	return false
}

var errTrailing = errors.New("trailing data")

func decodeError(err error, limit int64) (status int, code, msg, field string) {
	var (
		mbe    *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body must be at most %d bytes", limit), ""
	case errors.As(err, &syntax):
		return http.StatusBadRequest, "malformed_json", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset), ""
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, "malformed_json", "malformed JSON: body ends early", ""
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "malformed_json", "request body is empty: send a JSON object", ""
	case errors.Is(err, errTrailing):
		return http.StatusBadRequest, "malformed_json", "request body must hold a single JSON object", ""
	case errors.As(err, &typ):
		f := fieldPath(typ.Field)
		return http.StatusBadRequest, "invalid_type", fmt.Sprintf("field %s must be a JSON %s", f, jsonKind(typ.Type.Kind().String())), f
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return http.StatusBadRequest, "unknown_field", fmt.Sprintf("unknown field %q", f), f
	default:
		return http.StatusBadRequest, "malformed_json", "request body is not valid JSON for this endpoint", ""
	}
}

// fieldPath turns encoding/json's "items.0.quantity" into "items[0].quantity",
// the form validation errors use.
func fieldPath(p string) string {
	var b strings.Builder
	for i, part := range strings.Split(p, ".") {
		if _, err := strconv.Atoi(part); err == nil && i > 0 {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number in range"
	case goKind == "slice":
		return "array"
	case goKind == "struct":
		return "object"
	default:
		return goKind
	}
}

func (a *api) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if store.IsUnavailable(err) {
		a.Logger.WarnContext(r.Context(), "database unavailable", "error", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the database is unavailable; retry later", "")
		return
	}
	a.Logger.ErrorContext(r.Context(), "database error", "error", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error", "")
}

// allow answers 405 with an Allow header unless r's method is one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here", "")
	return false
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Field names the offending input.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, ErrorBody{ErrorDetail{Code: code, Message: msg, Field: field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}
