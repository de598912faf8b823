package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/go-aks/pipeline/app/internal/observability"
)

// Instrumentation is what the middleware records requests with.
type Instrumentation struct {
	Metrics    *observability.Metrics
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
}

// New returns the API handler wrapped in panic recovery, tracing, metrics
// and access logging.
func New(opts Options, inst Instrumentation) http.Handler {
	a := &api{Options: opts}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	if a.MaxBodyBytes <= 0 {
		a.MaxBodyBytes = 64 << 10
	}
	if a.RequestTimeout <= 0 {
		a.RequestTimeout = 5 * time.Second
	}
	return a.middleware(routes(a), inst)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *api) middleware(next *http.ServeMux, inst Instrumentation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if inst.Metrics != nil {
			inst.Metrics.InFlight().Inc()
			defer inst.Metrics.InFlight().Dec()
		}
		ctx := r.Context()
		if inst.Propagator != nil {
			ctx = inst.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		var span trace.Span
		if inst.Tracer != nil {
			ctx, span = inst.Tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
			defer span.End()
		}
		r = r.WithContext(ctx)
		if a.ShuttingDown != nil && a.ShuttingDown() {
			// Draining: tell keep-alive clients to reconnect elsewhere.
			w.Header().Set("Connection", "close")
		}
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				a.Logger.ErrorContext(ctx, "panic serving request", "panic", p, "path", r.URL.Path)
				if rec.status == 0 {
					writeError(rec, http.StatusInternalServerError, "internal", "internal error", "")
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			d := time.Since(start)
			if inst.Metrics != nil {
				inst.Metrics.Observe(r.Method, route, rec.status, d)
			}
			if span != nil {
				span.SetName(r.Method + " " + route)
				span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", rec.status))
				if rec.status >= 500 {
					span.SetStatus(codes.Error, http.StatusText(rec.status))
				}
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelWarn
			}
			if route != "/healthz" && route != "/readyz" && route != "/metrics" || rec.status >= 500 {
				a.Logger.Log(ctx, level, "request", "method", r.Method, "route", route, "path", r.URL.Path,
					"status", rec.status, "duration_ms", float64(d.Microseconds())/1000)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
