package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/go-aks/pipeline/internal/deploy"
)

// canaryArgs are --strategy and the canary's flags as given.
type canaryArgs struct {
	strategy      string
	replicas      int
	window        time.Duration
	interval      time.Duration
	maxErrorRatio float64
	maxP99Ratio   float64
	latencyFloor  time.Duration
	minRequests   int
	promURL       string
	promTokenFile string
}

// canaryFlags declares --strategy and the canary's thresholds.
func canaryFlags(fs *flag.FlagSet) *canaryArgs {
	a := &canaryArgs{}
	fs.StringVar(&a.strategy, "strategy", "", "rolling or canary; empty: the overlay's default (annotation "+deploy.StrategyAnnotation+" on its Deployment; production: canary), else rolling")
	fs.IntVar(&a.replicas, "canary-replicas", 1, "pods of the new digest run beside the stable ones during the analysis")
	fs.DurationVar(&a.window, "canary-window", 2*time.Minute, "analysis window: how long the canary is compared with the stable pods")
	fs.DurationVar(&a.interval, "canary-interval", 10*time.Second, "how often the metrics are read during the window (an error ratio past the threshold stops the canary early)")
	fs.Float64Var(&a.maxErrorRatio, "canary-max-error-ratio", 0.01, "how much higher than the stable pods' 5xx ratio the canary's may be (0.01 = 1 percentage point)")
	fs.Float64Var(&a.maxP99Ratio, "canary-max-p99-ratio", 1.5, "how many times the stable pods' p99 latency the canary's may be")
	fs.DurationVar(&a.latencyFloor, "canary-latency-floor", 10*time.Millisecond, "p99 differences below this never fail the canary")
	fs.IntVar(&a.minRequests, "canary-min-requests", 100, "requests the canary must serve in the window; fewer fails it (too little traffic is not a pass)")
	fs.StringVar(&a.promURL, "prometheus-url", "", "Prometheus-compatible query endpoint to read the metrics from (Azure Monitor managed Prometheus); empty: the pods' /metrics through the API server (pods/proxy)")
	fs.StringVar(&a.promTokenFile, "prometheus-token-file", "", "file holding a bearer token for --prometheus-url (its content is never printed)")
	return a
}

// options checks the flags and returns the strategy and canary options.
func (a *canaryArgs) options() (deploy.Strategy, deploy.CanaryOptions, error) {
	st, err := deploy.ParseStrategy(a.strategy)
	if err != nil {
		return "", deploy.CanaryOptions{}, err
	}
	switch {
	case a.replicas < 1 || a.replicas > 100:
		err = fmt.Errorf("--canary-replicas must be between 1 and 100, got %d", a.replicas)
	case a.window <= 0:
		err = fmt.Errorf("--canary-window must be positive, got %s", a.window)
	case a.interval <= 0 || a.interval > a.window:
		err = fmt.Errorf("--canary-interval must be positive and at most --canary-window (%s), got %s", a.window, a.interval)
	case a.maxErrorRatio <= 0 || a.maxErrorRatio >= 1:
		err = fmt.Errorf("--canary-max-error-ratio must be between 0 and 1 (0.01 = 1 percentage point), got %g", a.maxErrorRatio)
	case a.maxP99Ratio < 1:
		err = fmt.Errorf("--canary-max-p99-ratio must be at least 1, got %g", a.maxP99Ratio)
	case a.latencyFloor < 0:
		err = fmt.Errorf("--canary-latency-floor must not be negative, got %s", a.latencyFloor)
	case a.minRequests < 1:
		err = fmt.Errorf("--canary-min-requests must be at least 1, got %d", a.minRequests)
	case a.promTokenFile != "" && a.promURL == "":
		err = fmt.Errorf("--prometheus-token-file is given without --prometheus-url")
	}
	if err != nil {
		return "", deploy.CanaryOptions{}, err
	}
	return st, deploy.CanaryOptions{
		Replicas: int32(a.replicas), Window: a.window, Interval: a.interval, //nolint:gosec // bounded to 1..100 above
		Thresholds: deploy.Thresholds{
			MaxErrorRatio: a.maxErrorRatio, MaxP99Ratio: a.maxP99Ratio,
			LatencyFloorSeconds: a.latencyFloor.Seconds(), MinRequests: a.minRequests,
		},
		PrometheusURL: a.promURL, PrometheusTokenFile: a.promTokenFile,
	}, nil
}
