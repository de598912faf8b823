package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single", ms(7), 99, 7 * time.Millisecond},
		{"median of 4", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100", hundred, 100, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{BaseURL: "localhost:8080"}, "base URL"},
		{Options{BaseURL: "http://127.0.0.1:1", Concurrency: 1000}, "concurrency"},
		{Options{BaseURL: "http://127.0.0.1:1", Duration: 2 * time.Hour}, "duration"},
		{Options{BaseURL: "http://127.0.0.1:1", MaxRequests: -1}, "max requests"},
	}
	for _, tt := range tests {
		if _, err := Run(context.Background(), tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%+v) = %v, want an error about %s", tt.opts, err, tt.want)
		}
	}
}
