// Package store keeps orders in PostgreSQL through a pgx connection pool.
// Errors that mean the database cannot be reached wrap ErrUnavailable, so
// callers can answer 503 while the pool reconnects by itself.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/go-aks/pipeline/app/internal/config"
	"github.com/go-aks/pipeline/app/internal/orders"
)

// ErrUnavailable marks errors caused by the database being unreachable or
// shutting down.
var ErrUnavailable = errors.New("database unavailable")

// ErrNotFound is returned when no order has the requested id.
var ErrNotFound = errors.New("order not found")

// Store is the orders repository.
type Store struct {
	pool *pgxpool.Pool
}

// PoolConfig builds the pgx pool configuration for db. The password is set
// on the parsed configuration, never put into a connection string.
func PoolConfig(db config.DB, tracer pgx.QueryTracer) (*pgxpool.Config, error) {
	kv := []string{
		"host=" + quote(db.Host),
		"port=" + strconv.Itoa(db.Port),
		"dbname=" + quote(db.Name),
		"user=" + quote(db.User),
		"sslmode=" + quote(db.SSLMode),
		"connect_timeout=3",
		"application_name=orders",
	}
	pc, err := pgxpool.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("database configuration (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE): %w", err)
	}
	pc.ConnConfig.Password = db.Password.Reveal()
	pc.MaxConns = db.MaxConns
	pc.MinConns = 0
	pc.HealthCheckPeriod = 5 * time.Second
	pc.MaxConnIdleTime = 5 * time.Minute
	pc.ConnConfig.Tracer = tracer
	return pc, nil
}

// quote quotes a libpq keyword/value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// Open creates the pool; it does not connect until first use.
func Open(ctx context.Context, pc *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Pool exposes the pool (migrations, metrics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes all connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return classify("ping database", err)
	}
	return nil
}

// Create stores a new order and returns it with its id and creation time.
func (s *Store) Create(ctx context.Context, o orders.New) (orders.Order, error) {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return orders.Order{}, fmt.Errorf("encode items: %w", err)
	}
	out := orders.Order{CustomerID: o.CustomerID, Items: o.Items, Currency: o.Currency, TotalCents: o.Total()}
	err = s.pool.QueryRow(ctx,
		`INSERT INTO orders (customer_id, items, total_cents, currency) VALUES ($1, $2, $3, $4)
		 RETURNING id, created_at`,
		o.CustomerID, items, out.TotalCents, o.Currency).Scan(&out.ID, &out.CreatedAt)
	if err != nil {
		return orders.Order{}, classify("insert order", err)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	return out, nil
}

// Get returns the order with id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (orders.Order, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, customer_id, items, total_cents, currency, created_at FROM orders WHERE id = $1`, id)
	if err != nil {
		return orders.Order{}, classify("get order", err)
	}
	o, err := pgx.CollectExactlyOneRow(rows, scanOrder)
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Order{}, ErrNotFound
	}
	if err != nil {
		return orders.Order{}, classify("get order", err)
	}
	return o, nil
}

// List returns up to q.Limit orders with ids greater than q.After in id
// order, optionally of one customer, and whether more follow.
func (s *Store) List(ctx context.Context, q orders.ListQuery) ([]orders.Order, bool, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, customer_id, items, total_cents, currency, created_at FROM orders
		 WHERE id > $1 AND ($2 = '' OR customer_id = $2)
		 ORDER BY id LIMIT $3`, q.After, q.CustomerID, q.Limit+1)
	if err != nil {
		return nil, false, classify("list orders", err)
	}
	list, err := pgx.CollectRows(rows, scanOrder)
	if err != nil {
		return nil, false, classify("list orders", err)
	}
	more := len(list) > q.Limit
	if more {
		list = list[:q.Limit]
	}
	return list, more, nil
}

func scanOrder(row pgx.CollectableRow) (orders.Order, error) {
	var o orders.Order
	var items []byte
	if err := row.Scan(&o.ID, &o.CustomerID, &items, &o.TotalCents, &o.Currency, &o.CreatedAt); err != nil {
		return o, err
	}
	if err := json.Unmarshal(items, &o.Items); err != nil {
		return o, fmt.Errorf("decode items of order %d: %w", o.ID, err)
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return o, nil
}

// classify wraps err with what failed, marking connectivity problems with
// ErrUnavailable.
func classify(what string, err error) error {
	if IsUnavailable(err) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// IsUnavailable reports whether err means the database could not be reached
// or is shutting down, as opposed to a query the server rejected.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "57P"), // admin/crash shutdown, cannot connect now
			pgErr.Code == "53300":                // too many connections
			return true
		}
		return false
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.As(err, &netErr) || errors.As(err, &connectErr) || pgconn.Timeout(err) ||
		errors.Is(err, pgx.ErrTxClosed) || strings.Contains(err.Error(), "closed pool") ||
		pgconn.SafeToRetry(err) || isConnLost(err)
}

func isConnLost(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "broken pipe")
}
