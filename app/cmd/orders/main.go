// Command orders serves the orders API on PostgreSQL.
//
// It is configured only through the environment (see app/internal/config);
// the database password comes from DB_PASSWORD or the file named by
// DB_PASSWORD_FILE and is never logged.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-aks/pipeline/app/internal/config"
	"github.com/go-aks/pipeline/app/internal/observability"
	"github.com/go-aks/pipeline/app/internal/service"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 {
		return fmt.Errorf("takes no arguments (got %q): configure it through environment variables such as HTTP_ADDR and DB_HOST", os.Args[1:])
	}
	cfg, err := config.Load(os.Getenv, os.ReadFile)
	if err != nil {
		return err
	}
	logger := observability.NewLogger(os.Stdout, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := service.Run(ctx, cfg, service.Deps{Logger: logger, Version: version}); err != nil {
		logger.Error("orders service failed", "error", err)
		return err
	}
	return nil
}
