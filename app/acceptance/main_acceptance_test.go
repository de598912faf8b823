//go:build acceptance

package acceptance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"testing"

	"github.com/go-aks/pipeline/app/internal/servicetest"
)

// baseURL is the service under test.
var baseURL string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	baseURL = strings.TrimRight(os.Getenv("BASE_URL"), "/")
	if baseURL != "" {
		fmt.Fprintln(os.Stderr, "acceptance: testing", baseURL)
		return m.Run()
	}
	// No deployment given: run the service locally, as shipped.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db, stopDB, err := servicetest.Database(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance: database:", err)
		return 1
	}
	defer stopDB()
	dir, err := os.MkdirTemp("", "orders-acceptance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin, err := servicetest.BuildOrders(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance:", err)
		return 1
	}
	p, err := servicetest.StartOrders(ctx, bin, append(db.Env(), "SHUTDOWN_DRAIN_DELAY=0s"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance:", err)
		return 1
	}
	baseURL = p.BaseURL
	fmt.Fprintln(os.Stderr, "acceptance: BASE_URL unset; testing a local service at", baseURL)
	code := m.Run()
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := p.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, "acceptance: the service did not stop cleanly:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
