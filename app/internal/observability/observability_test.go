package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestLoggerTraceIDs(t *testing.T) {
	tr, err := NewTracing(context.Background(), "test", "", "v1")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	ctx, span := tr.Tracer.Start(context.Background(), "op")
	defer span.End()
	tests := []struct {
		name      string
		ctx       context.Context
		wantTrace bool
	}{
		{"with span", ctx, true},
		{"without span", context.Background(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			NewLogger(&buf, slog.LevelInfo).With("component", "test").InfoContext(tt.ctx, "hello", "k", "v")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %q", buf.String())
			}
			_, hasTrace := rec["trace_id"]
			_, hasSpan := rec["span_id"]
			if hasTrace != tt.wantTrace || hasSpan != tt.wantTrace {
				t.Fatalf("record %v: trace ids present = %v/%v, want %v", rec, hasTrace, hasSpan, tt.wantTrace)
			}
			if tt.wantTrace && rec["trace_id"] != span.SpanContext().TraceID().String() {
				t.Fatalf("trace_id = %v, want %s", rec["trace_id"], span.SpanContext().TraceID())
			}
			if rec["component"] != "test" || rec["k"] != "v" || rec["msg"] != "hello" {
				t.Fatalf("attributes lost: %v", rec)
			}
		})
	}
}

func TestLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(&buf, slog.LevelWarn)
	l.Info("dropped")
	if buf.Len() != 0 {
		t.Fatalf("info logged at warn level: %s", buf.String())
	}
	l.Warn("kept")
	if buf.Len() == 0 {
		t.Fatal("warn not logged")
	}
}
