// Package server runs an HTTP server with the shutdown sequence Kubernetes
// expects: on the stop signal it turns unready, keeps serving for a drain
// delay while endpoints are removed, then closes the listener and waits for
// in-flight requests to finish.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Readiness is the shutting-down flag shared by the server and /readyz.
type Readiness struct{ draining atomic.Bool }

// ShuttingDown reports whether shutdown has begun.
func (r *Readiness) ShuttingDown() bool { return r.draining.Load() }

// Options configure Run.
type Options struct {
	Handler http.Handler
	// Readiness is set when shutdown begins.
	Readiness *Readiness
	// DrainDelay is how long to keep serving after turning unready.
	DrainDelay time.Duration
	// ShutdownTimeout bounds waiting for in-flight requests after the
	// listener closes.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// Run serves on ln until ctx is cancelled, then drains and shuts down
// gracefully. It returns nil after a clean shutdown.
func Run(ctx context.Context, ln net.Listener, opts Options) error {
	srv := &http.Server{
		Handler:           opts.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	opts.Logger.InfoContext(ctx, "serving", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	opts.Readiness.draining.Store(true)
	opts.Logger.Info("shutdown: turned unready, draining", "drain_delay", opts.DrainDelay.String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-time.After(opts.DrainDelay):
	}
	opts.Logger.Info("shutdown: closing listener, waiting for in-flight requests", "timeout", opts.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	opts.Logger.Info("shutdown: complete")
	return nil
}
