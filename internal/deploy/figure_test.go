//go:build cluster

package deploy_test

import (
	"context"
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
	kubectlDir, err := toolbin.Build(ctx, toolbin.Spec{Module: "hack/kube", Packages: []string{"k8s.io/kubernetes/cmd/kubectl"}, LDFlags: cluster.KubeLDFlags})
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
				good := e.opts("staging", e.ordersV2)
				if _, err := deploy.Run(ctx, good); err != nil {
					b.Fatalf("restore the good revision: %v", err)
				}
				before, err := e.admin.AppsV1().Deployments("staging").Get(ctx, "orders", metav1.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				// kubectl starts watching as soon as the new generation exists.
				kubectlDone := make(chan time.Duration, 1)
				go func() {
					for {
						d, err := e.admin.AppsV1().Deployments("staging").Get(ctx, "orders", metav1.GetOptions{})
						if err == nil && d.Generation > before.Generation {
							break
						}
						time.Sleep(50 * time.Millisecond)
					}
					t0 := time.Now()
					cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", e.c.Kubeconfigs["staging"], "-n", "staging",
						"rollout", "status", "deployment/orders", "--timeout=10m")
					_ = cmd.Run()
					kubectlDone <- time.Since(t0)
				}()
				o := e.opts("staging", sc.image, sc.components...)
				o.Rollback = false
				o.Timeout = 10 * time.Minute
				sum, err := deploy.Run(ctx, o)
				if err == nil {
					b.Fatal("the failing rollout succeeded")
				}
				kubectlTook := <-kubectlDone
				ours := time.Duration(sum.FailureDetectedAfter)
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
