// Package service assembles the orders service from its parts: tracing,
// database pool and migrations, HTTP API, metrics and the server lifecycle.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/go-aks/pipeline/app/internal/config"
	"github.com/go-aks/pipeline/app/internal/httpapi"
	"github.com/go-aks/pipeline/app/internal/observability"
	"github.com/go-aks/pipeline/app/internal/server"
	"github.com/go-aks/pipeline/app/internal/store"
)

// Deps are the service's outside inputs.
type Deps struct {
	Logger *slog.Logger
	// Listener to serve on; nil means listen on cfg.HTTPAddr.
	Listener net.Listener
	// Version is reported in traces and at start-up.
	Version string
}

// Run starts the service and blocks until ctx is cancelled and the graceful
// shutdown has finished.
func Run(ctx context.Context, cfg config.Config, deps Deps) (err error) {
	log := deps.Logger
	log.InfoContext(ctx, "starting orders service", "version", deps.Version, "http_addr", cfg.HTTPAddr,
		"db_host", cfg.DB.Host, "db_port", cfg.DB.Port, "db_name", cfg.DB.Name, "db_user", cfg.DB.User,
		"db_sslmode", cfg.DB.SSLMode, "otlp_export", cfg.OTLPEndpoint != "",
		"shutdown_drain_delay", cfg.DrainDelay.String(), "shutdown_timeout", cfg.ShutdownTimeout.String())

	tracing, err := observability.NewTracing(ctx, cfg.ServiceName, cfg.OTLPEndpoint, deps.Version)
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ferr := tracing.Shutdown(fctx); ferr != nil {
			log.Warn("flushing traces failed", "error", ferr)
		}
	}()

	pc, err := store.PoolConfig(cfg.DB, tracing.QueryTracer())
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, pc)
	if err != nil {
		return err
	}
	defer st.Close()

	if err := migrate(ctx, st, cfg.StartupTimeout, log); err != nil {
		return err
	}

	ln := deps.Listener
	if ln == nil {
		var lc net.ListenConfig
		ln, err = lc.Listen(ctx, "tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("HTTP_ADDR=%s: listen: %w", cfg.HTTPAddr, err)
		}
	}

	metrics := observability.NewMetrics()
	if err := metrics.Register(observability.NewPoolCollector(st.Pool())); err != nil {
		return fmt.Errorf("register pool metrics: %w", err)
	}
	ready := &server.Readiness{}
	handler := httpapi.New(httpapi.Options{
		Store:          st,
		Logger:         log,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		RequestTimeout: cfg.RequestTimeout,
		ShuttingDown:   ready.ShuttingDown,
		Metrics:        metrics.Handler(),
	}, httpapi.Instrumentation{Metrics: metrics, Tracer: tracing.Tracer, Propagator: tracing.Propagator})

	return server.Run(ctx, ln, server.Options{
		Handler:         handler,
		Readiness:       ready,
		DrainDelay:      cfg.DrainDelay,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Logger:          log,
	})
}

// migrate applies the schema, retrying while the database is unreachable
// (a database starting alongside the service) for up to timeout.
func migrate(ctx context.Context, st *store.Store, timeout time.Duration, log *slog.Logger) error {
	migrations, err := store.Migrations()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	backoff := 250 * time.Millisecond
	for {
		applied, err := store.Migrate(ctx, st.Pool(), migrations)
		if err == nil {
			if applied == nil {
				applied = []int{}
			}
			log.InfoContext(ctx, "database schema up to date", "applied", applied, "known", len(migrations))
			return nil
		}
		if !store.IsUnavailable(err) || ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("database not reachable within DB_STARTUP_TIMEOUT=%s: %w", timeout, err)
			}
			return err
		}
		log.WarnContext(ctx, "database not reachable yet, retrying", "error", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return fmt.Errorf("database not reachable within DB_STARTUP_TIMEOUT=%s: %w", timeout, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
