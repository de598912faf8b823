//go:build cluster

package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/testenv/cluster"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// BenchmarkFailureReport measures, for failing rollouts of the staging
// overlay (progressDeadlineSeconds 120), how long after the apply deploy
// reports the failure, beside how long `kubectl rollout status` (v1.34.2,
// built from hack/kube) watching the same rollout takes to give up.
// Rollback is off so both watch the same failing revision; the good image is
// restored after each scenario.
//
//	go test -tags cluster -run '^$' -bench FailureReport -benchtime 1x ./internal/deploy
func BenchmarkFailureReport(b *testing.B) {
	ctx := context.Background()
	kubectlDir, err := toolbin.Build(ctx, toolbin.Spec{Module: "hack/kube", Packages: []string{"k8s.io/kubernetes/cmd/kubectl"}, LDFlags: cluster.KubeLDFlags, FirstBuild: "about 3 minutes on 2 cores"})
	if err != nil {
		b.Fatal(err)
	}
	kubectl := filepath.Join(kubectlDir, "kubectl")
	scenarios := []struct {
		name       string
		image      string
		components []string
	}{
		{"crash", e.crash, nil},
		{"missing-digest", e.missing, nil},
		{"unschedulable", e.ordersV2, []string{"components/test/huge-requests"}},
		{"database-unreachable", e.ordersV2, []string{"components/test/db-unreachable"}},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ours, kubectlTook, err := failureReport(ctx, kubectl, sc.image, sc.components)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(ours.Seconds(), "s-deploy-reports")
				b.ReportMetric(kubectlTook.Seconds(), "s-kubectl-rollout-status")
				b.Logf("%s: deploy reported after %s; kubectl rollout status gave up after %s", sc.name, ours.Round(time.Millisecond), kubectlTook.Round(time.Millisecond))
			}
		})
	}
	if _, err := deploy.Run(ctx, e.opts("staging", e.ordersV2)); err != nil {
		b.Fatalf("restore the good revision: %v", err)
	}
}

// failureReport restores the good revision, then deploys image with
// components to staging (rollback off) while `kubectl rollout status`
// watches the same rollout, and returns how long each took to report the
// failure. Everything it starts ends before it returns, whatever fails: the
// watcher stops when deploy returns without having applied a new generation.
func failureReport(ctx context.Context, kubectl, image string, components []string) (ours, kubectlTook time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	if _, err := deploy.Run(ctx, e.opts("staging", e.ordersV2)); err != nil {
		return 0, 0, fmt.Errorf("restore the good revision: %w", err)
	}
	before, err := e.admin.AppsV1().Deployments("staging").Get(ctx, "orders", metav1.GetOptions{})
	if err != nil {
		return 0, 0, err
	}
	type watched struct {
		took time.Duration
		err  error
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	kubectlDone := make(chan watched, 1)
	// kubectl starts watching as soon as the new generation exists.
	go func() {
		for {
			d, err := e.admin.AppsV1().Deployments("staging").Get(watchCtx, "orders", metav1.GetOptions{})
			if err == nil && d.Generation > before.Generation {
				break
			}
			select {
			case <-watchCtx.Done():
				kubectlDone <- watched{err: fmt.Errorf("no new generation of deployment orders appeared: %w", watchCtx.Err())}
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		t0 := time.Now()
		cmd := exec.CommandContext(watchCtx, kubectl, "--kubeconfig", e.c.Kubeconfigs["staging"], "-n", "staging",
			"rollout", "status", "deployment/orders", "--timeout=10m")
		_ = cmd.Run() // it fails: the rollout does
		kubectlDone <- watched{took: time.Since(t0)}
	}()
	o := e.opts("staging", image, components...)
	o.Rollback = false
	o.Timeout = 10 * time.Minute
	sum, err := deploy.Run(ctx, o)
	switch {
	case err == nil:
		stopWatch()
		<-kubectlDone
		return 0, 0, errors.New("the failing rollout succeeded")
	case sum == nil || sum.FailureDetectedAfter == 0:
		stopWatch()
		<-kubectlDone
		return 0, 0, fmt.Errorf("deploy failed before it applied a rollout to watch: %w", err)
	}
	w := <-kubectlDone
	if w.err != nil {
		return 0, 0, w.err
	}
	return time.Duration(sum.FailureDetectedAfter), w.took, nil
}
