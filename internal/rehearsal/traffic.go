package rehearsal

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// Production's canary is judged by the traffic it serves; in the rehearsal
// nothing else calls production, so the production deploy stage sends API
// requests (GET /v1/orders, each on a new connection so that every ready
// pod behind the Service gets its share) for as long as deploy runs, the way
// users would. Its figures are logged; the canary judges by the pods' own
// metrics, not by these.
type traffic struct {
	cancel           context.CancelFunc
	wg               sync.WaitGroup
	mu               sync.Mutex
	requests, failed int
}

// startTraffic sends requests to base until stop.
func startTraffic(ctx context.Context, base string) *traffic {
	ctx, cancel := context.WithCancel(ctx)
	tr := &traffic{cancel: cancel}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range 2 {
		tr.wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				ok := get(ctx, client, base+"/v1/orders")
				if ctx.Err() != nil {
					return
				}
				tr.mu.Lock()
				tr.requests++
				if !ok {
					tr.failed++
				}
				tr.mu.Unlock()
			}
		})
	}
	return tr
}

func get(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// stop ends the traffic and returns how many requests were sent and failed.
func (tr *traffic) stop() (requests, failed int) {
	tr.cancel()
	tr.wg.Wait()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.requests, tr.failed
}
