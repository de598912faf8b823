//go:build integration

package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/go-aks/pipeline/app/internal/config"
	"github.com/go-aks/pipeline/app/internal/orders"
	"github.com/go-aks/pipeline/app/internal/servicetest"
)

// testDB is the database of this package's tests: TEST_DB_* or a throwaway
// PostgreSQL. Each test works in its own schema, so the tests are safe on a
// shared database.
var testDB servicetest.DB

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	db, stop, err := servicetest.Database(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration database:", err)
		os.Exit(1)
	}
	testDB = db
	code := m.Run()
	stop()
	os.Exit(code)
}

func uniqueName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func dbConfig(db servicetest.DB) config.DB {
	return config.DB{Host: db.Host, Port: db.Port, Name: db.Name, User: db.User,
		Password: config.NewSecret(db.Password), SSLMode: db.SSLMode, MaxConns: 8}
}

// openInSchema opens a Store whose connections use a fresh schema, dropped
// when the test ends.
func openInSchema(t *testing.T, ctx context.Context) *Store {
	t.Helper()
	schema := uniqueName("t")
	pc, err := PoolConfig(dbConfig(testDB), nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.ConnectConfig(ctx, pc.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx := context.WithoutCancel(ctx)
		_, _ = admin.Exec(cctx, "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close(cctx)
	})
	pc.ConnConfig.RuntimeParams["search_path"] = schema
	st, err := Open(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := openInSchema(t, ctx)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	var wg sync.WaitGroup
	applied := make([][]int, replicas)
	errs := make([]error, replicas)
	for i := 0; i < replicas; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = Migrate(ctx, st.Pool(), ms)
		}()
	}
	wg.Wait()
	total := 0
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != len(ms) {
		t.Fatalf("replicas applied %d migrations in total, want each of the %d exactly once: %v", total, len(ms), applied)
	}
	var rows int
	if err := st.Pool().QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&rows); err != nil || rows != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", rows, err, len(ms))
	}
	again, err := Migrate(ctx, st.Pool(), ms)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v (%v), want nothing", again, err)
	}
}

func TestMigrateFailureIsNotRecorded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := openInSchema(t, ctx)
	bad := []Migration{
		{Version: 1, Name: "0001_ok.sql", SQL: "CREATE TABLE a (x int)"},
		{Version: 2, Name: "0002_bad.sql", SQL: "CREATE TABLE b (x int); SELEKT 1"},
	}
	applied, err := Migrate(ctx, st.Pool(), bad)
	if err == nil || fmt.Sprint(applied) != "[1]" {
		t.Fatalf("Migrate = %v, %v; want version 1 applied and an error for 0002", applied, err)
	}
	var exists bool
	if err := st.Pool().QueryRow(ctx, "SELECT to_regclass('b') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("the failed migration was half-applied: table b exists=%v (%v)", exists, err)
	}
}

func TestOrdersRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := openInSchema(t, ctx)
	ms, _ := Migrations()
	if _, err := Migrate(ctx, st.Pool(), ms); err != nil {
		t.Fatal(err)
	}
	in := orders.New{CustomerID: "c-rt", Currency: "USD", Items: []orders.Item{
		{SKU: "a", Quantity: 2, UnitPriceCents: 500}, {SKU: "b", Quantity: 1, UnitPriceCents: 1},
	}}
	created, err := st.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID <= 0 || created.TotalCents != 1001 || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	got, err := st.Get(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(created) {
		t.Fatalf("Get = %+v\nwant  %+v", got, created)
	}
	if _, err := st.Get(ctx, created.ID+1000); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func TestListPages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := openInSchema(t, ctx)
	ms, _ := Migrations()
	if _, err := Migrate(ctx, st.Pool(), ms); err != nil {
		t.Fatal(err)
	}
	var mine []int64
	for i := 0; i < 7; i++ {
		cust := "mine"
		if i%3 == 0 {
			cust = "other"
		}
		o, err := st.Create(ctx, orders.New{CustomerID: cust, Currency: "EUR", Items: []orders.Item{{SKU: "s", Quantity: int64(i + 1), UnitPriceCents: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		if cust == "mine" {
			mine = append(mine, o.ID)
		}
	}
	tests := []struct {
		name  string
		q     orders.ListQuery
		pages int
		want  []int64
	}{
		{"customer in pages of 2", orders.ListQuery{CustomerID: "mine", Limit: 2}, 2, mine},
		{"customer in one page", orders.ListQuery{CustomerID: "mine", Limit: 100}, 1, mine},
		{"exact fit", orders.ListQuery{CustomerID: "mine", Limit: 4}, 1, mine},
		{"nobody", orders.ListQuery{CustomerID: "nobody", Limit: 5}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int64
			q, pages := tt.q, 0
			for {
				list, more, err := st.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, o := range list {
					got = append(got, o.ID)
				}
				if !more {
					break
				}
				q.After = list[len(list)-1].ID
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || pages != tt.pages {
				t.Fatalf("ids %v in %d pages, want %v in %d", got, pages, tt.want, tt.pages)
			}
		})
	}
}

// TestUnreachableDatabaseIsUnavailable points the pool at a port nobody
// listens on: the errors must be classified as an outage (503), not a bug.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	port, err := servicetest.FreePort(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := testDB
	db.Host, db.Port = "127.0.0.1", port
	pc, err := PoolConfig(dbConfig(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checks := map[string]error{"ping": st.Ping(ctx)}
	_, checks["get"] = st.Get(ctx, 1)
	_, checks["create"] = st.Create(ctx, orders.New{CustomerID: "c", Currency: "EUR", Items: []orders.Item{{SKU: "s", Quantity: 1}}})
	_, _, checks["list"] = st.List(ctx, orders.ListQuery{Limit: 1})
	for op, err := range checks {
		if !errors.Is(err, ErrUnavailable) || !IsUnavailable(err) {
			t.Errorf("%s on port %s: %v, want ErrUnavailable", op, strconv.Itoa(port), err)
		}
	}
}
