package servicetest

import (
	"strings"
	"testing"
)

func TestExternalDB(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantOK  bool
		wantErr string
		want    DB
	}{
		{name: "unset", env: map[string]string{}},
		{name: "complete", env: map[string]string{"TEST_DB_HOST": "pg", "TEST_DB_NAME": "orders", "TEST_DB_USER": "u", "TEST_DB_PASSWORD": "p"},
			wantOK: true, want: DB{Host: "pg", Port: 5432, Name: "orders", User: "u", Password: "p", SSLMode: "disable"}},
		{name: "port and sslmode", env: map[string]string{"TEST_DB_HOST": "pg", "TEST_DB_PORT": "6543", "TEST_DB_SSLMODE": "require",
			"TEST_DB_NAME": "o", "TEST_DB_USER": "u", "TEST_DB_PASSWORD": "p"},
			wantOK: true, want: DB{Host: "pg", Port: 6543, Name: "o", User: "u", Password: "p", SSLMode: "require"}},
		{name: "bad port", env: map[string]string{"TEST_DB_HOST": "pg", "TEST_DB_PORT": "x"}, wantOK: true, wantErr: "TEST_DB_PORT"},
		{name: "missing password", env: map[string]string{"TEST_DB_HOST": "pg", "TEST_DB_NAME": "o", "TEST_DB_USER": "u"}, wantOK: true, wantErr: "TEST_DB_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, ok, err := ExternalDB(func(k string) string { return tt.env[k] })
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || db != tt.want {
				t.Fatalf("ExternalDB = %+v, %v; want %+v", db, err, tt.want)
			}
		})
	}
}

func TestDBEnv(t *testing.T) {
	got := strings.Join(DB{Host: "h", Port: 1, Name: "n", User: "u", Password: "p", SSLMode: "disable"}.Env(), " ")
	want := "DB_HOST=h DB_PORT=1 DB_NAME=n DB_USER=u DB_PASSWORD=p DB_SSLMODE=disable"
	if got != want {
		t.Fatalf("Env() = %q, want %q", got, want)
	}
}

func TestDBConnString(t *testing.T) {
	got := DB{Host: "10.0.0.1", Port: 5433, Name: "orders", User: "app", Password: "p@ss/w:rd", SSLMode: "require"}.ConnString()
	want := "postgres://app:p%40ss%2Fw%3Ard@10.0.0.1:5433/orders?sslmode=require"
	if got != want {
		t.Fatalf("ConnString() = %q, want %q", got, want)
	}
}
