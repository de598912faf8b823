package rehearsal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FaultProductionErrors makes the service answer 3 in 10 of its API
// requests (GET and POST /v1/orders, /v1/orders/{id}) with 500 when its
// database is the production one (DB_NAME ending in "production"): the pods
// start, are ready and healthy, staging and acceptance pass, and only the
// production canary's metrics show the defect.
const FaultProductionErrors Fault = "production-errors"

// productionErrorsSource is the file the fault adds to package httpapi.
// When always is true the fault fires whatever the database (the deploy
// tests use that, in a namespace of their own).
func productionErrorsSource(always bool) string {
	cond := `strings.HasSuffix(os.Getenv("DB_NAME"), "production")`
	if always {
		cond = "true"
	}
	return `package httpapi

import (
	"net/http"
	"os"
	"strings"
	"sync/atomic"
)

// Injected by the release rehearsal: a defect that shows only with the
// production configuration, and only in the service's answers.
var (
	faultActive   = ` + cond + `
	faultRequests atomic.Uint64
	_             = strings.HasSuffix
	_             = os.Getenv
)

func faultErrors(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if faultActive && (r.Method == http.MethodGet || r.Method == http.MethodPost) && faultRequests.Add(1)%10 < 3 {
			writeError(w, http.StatusInternalServerError, "internal", "rehearsal fault: failing 3 in 10 requests in production", "")
			return
		}
		h(w, r)
	}
}
`
}

// ProductionErrorsOverlay writes, into dir, the go build -overlay
// replacements of the production-errors fault for the orders service's Go
// module at moduleDir: the API's routes wrapped in faultErrors, and the file
// defining it.
func ProductionErrorsOverlay(moduleDir, dir string, always bool) (map[string]string, error) {
	path := filepath.Join(moduleDir, "internal", "httpapi", "httpapi.go")
	src, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("fault %s: %w", FaultProductionErrors, err)
	}
	out := string(src)
	for _, from := range []string{`mux.HandleFunc("/v1/orders", a.orders)`, `mux.HandleFunc("/v1/orders/{id}", a.order)`} {
		if strings.Count(out, from) != 1 {
			return nil, fmt.Errorf("fault %s: %s no longer holds exactly one %q to change; update ProductionErrorsOverlay", FaultProductionErrors, path, from)
		}
		route, handler, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(from, "mux.HandleFunc("), ")"), ", ")
		out = strings.Replace(out, from, "mux.HandleFunc("+route+", faultErrors("+handler+"))", 1)
	}
	alt := filepath.Clean(filepath.Join(dir, "httpapi.go"))
	if err := os.WriteFile(alt, []byte(out), 0o600); err != nil { //nolint:gosec // alt is in the caller's temporary directory
		return nil, fmt.Errorf("fault %s: %w", FaultProductionErrors, err)
	}
	extra := filepath.Join(dir, "zz_fault_errors.go")
	if err := os.WriteFile(extra, []byte(productionErrorsSource(always)), 0o600); err != nil {
		return nil, fmt.Errorf("fault %s: %w", FaultProductionErrors, err)
	}
	return map[string]string{path: alt, filepath.Join(moduleDir, "internal", "httpapi", "zz_rehearsal_fault_errors.go"): extra}, nil
}
