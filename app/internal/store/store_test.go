package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/go-aks/pipeline/app/internal/config"
)

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || !strings.Contains(ms[0].SQL, "CREATE TABLE orders") {
		t.Fatalf("embedded migrations = %+v", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", ms[i].Version, ms[i-1].Version)
		}
	}
}

func TestParseMigrations(t *testing.T) {
	tests := []struct {
		name     string
		files    fstest.MapFS
		versions []int
		wantErr  string
	}{
		{"ordered numerically", fstest.MapFS{
			"m/0010_c.sql": {Data: []byte("c")}, "m/0002_b.sql": {Data: []byte("b")}, "m/0001_a.sql": {Data: []byte("a")},
			"m/README.md": {Data: []byte("ignored")},
		}, []int{1, 2, 10}, ""},
		{"no version", fstest.MapFS{"m/create.sql": {}}, nil, "positive version number"},
		{"zero version", fstest.MapFS{"m/0000_x.sql": {}}, nil, "positive version number"},
		{"duplicate version", fstest.MapFS{"m/0001_a.sql": {}, "m/001_b.sql": {}}, nil, "already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := parseMigrations(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.versions) {
				t.Fatalf("versions = %v, want %v", got, tt.versions)
			}
		})
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"connection lost", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"marked", fmt.Errorf("x: %w", ErrUnavailable), true},
		{"plain", errors.New("decode items: bad json"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsUnavailable(tt.err); got != tt.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if err := classify("get", &pgconn.PgError{Code: "57P01"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("classify did not mark an outage: %v", err)
	}
}

func TestPoolConfig(t *testing.T) {
	const pw = `p@ss 'w\ord`
	db := config.DB{Host: "db.example", Port: 6432, Name: "my db", User: "o'neil", Password: config.NewSecret(pw), SSLMode: "disable", MaxConns: 7}
	pc, err := PoolConfig(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := pc.ConnConfig
	if cc.Host != "db.example" || cc.Port != 6432 || cc.Database != "my db" || cc.User != "o'neil" || cc.Password != pw || pc.MaxConns != 7 || cc.TLSConfig != nil {
		t.Fatalf("pool config = host %q port %d db %q user %q maxconns %d tls %v", cc.Host, cc.Port, cc.Database, cc.User, pc.MaxConns, cc.TLSConfig != nil)
	}
	if strings.Contains(pc.ConnString(), "ss 'w") || strings.Contains(pc.ConnString(), "p@ss") {
		t.Fatal("the password went into the connection string")
	}
	db.SSLMode = "require"
	pc, err = PoolConfig(db, nil)
	if err != nil || pc.ConnConfig.TLSConfig == nil {
		t.Fatalf("sslmode=require: tls config %v, err %v", pc.ConnConfig.TLSConfig, err)
	}
}
