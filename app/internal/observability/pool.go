package observability

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports a pgx pool's statistics.
type PoolCollector struct {
	stat     func() *pgxpool.Stat
	total    *prometheus.Desc
	idle     *prometheus.Desc
	acquired *prometheus.Desc
	max      *prometheus.Desc
	acquires *prometheus.Desc
}

// NewPoolCollector reads statistics from pool on every scrape.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	return &PoolCollector{
		stat:     pool.Stat,
		total:    prometheus.NewDesc("db_pool_connections", "Open database connections.", nil, nil),
		idle:     prometheus.NewDesc("db_pool_idle_connections", "Idle database connections.", nil, nil),
		acquired: prometheus.NewDesc("db_pool_acquired_connections", "Database connections in use.", nil, nil),
		max:      prometheus.NewDesc("db_pool_max_connections", "Maximum database connections.", nil, nil),
		acquires: prometheus.NewDesc("db_pool_acquires_total", "Connections acquired from the pool.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.total
	ch <- c.idle
	ch <- c.acquired
	ch <- c.max
	ch <- c.acquires
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
}
