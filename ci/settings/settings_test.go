package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestResolveDefaults(t *testing.T) {
	s, err := Service{}.Resolve("example.com/team/greeter")
	if err != nil {
		t.Fatal(err)
	}
	want := Service{
		Module: ".", Main: ".", Binary: "greeter",
		Platforms:   []string{"linux/amd64", "linux/arm64"},
		Manifests:   "manifests",
		Overlays:    map[string]string{"staging": "overlays/staging", "production": "overlays/production"},
		Acceptance:  Suite{Packages: "./acceptance/...", Tag: "acceptance"},
		Integration: Integration{Packages: "./...", Tag: "integration"},
		Port:        8080,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", s, want)
	}
}

func TestParseMergeResolve(t *testing.T) {
	file := []byte("module: app\nmain: ./cmd/orders\nintegration:\n  postgres: true\noverlays:\n  staging: envs/stage\n")
	s, err := Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	s, err = s.Merge(Service{Binary: "orders-api", Platforms: []string{"linux/amd64"}}).Resolve("github.com/x/app")
	if err != nil {
		t.Fatal(err)
	}
	if s.Binary != "orders-api" || s.Main != "./cmd/orders" || !s.Integration.Postgres || len(s.Platforms) != 1 {
		t.Fatalf("merge: %+v", s)
	}
	ov, err := s.Overlay("environment", "staging")
	if err != nil || ov != "manifests/envs/stage" {
		t.Fatalf("overlay: %q %v", ov, err)
	}
	if s.ModulePath(s.Acceptance.Packages) != "app/acceptance/..." {
		t.Fatalf("module path: %q", s.ModulePath(s.Acceptance.Packages))
	}
	if _, err := s.Overlay("environment", "qa"); err == nil || !strings.Contains(err.Error(), `"qa" has no overlay`) {
		t.Fatalf("missing overlay error: %v", err)
	}
}

func TestBinaryFromMain(t *testing.T) {
	s, err := Service{Main: "./cmd/orders"}.Resolve("github.com/go-aks/pipeline/app")
	if err != nil || s.Binary != "orders" {
		t.Fatalf("binary %q, %v", s.Binary, err)
	}
}

func TestParseRefusesUnknownField(t *testing.T) {
	_, err := Parse([]byte("mian: ./cmd/x\n"))
	if err == nil || !strings.Contains(err.Error(), "field mian not found") {
		t.Fatalf("want unknown-field error naming mian, got %v", err)
	}
}

func TestValidateNamesField(t *testing.T) {
	cases := []struct {
		name  string
		s     Service
		field string
	}{
		{"absolute module", Service{Module: "/src"}, "module"},
		{"escaping manifests", Service{Manifests: "../k8s"}, "manifests"},
		{"main not relative", Service{Main: "cmd/x"}, "main"},
		{"main pattern", Service{Main: "./cmd/..."}, "main"},
		{"bad binary", Service{Binary: "a b"}, "binary"},
		{"bad tag", Service{Acceptance: Suite{Tag: "a-b"}}, "acceptance.tag"},
		{"windows platform", Service{Platforms: []string{"windows/amd64"}}, "platforms"},
		{"duplicate platform", Service{Platforms: []string{"linux/amd64", "linux/amd64"}}, "platforms"},
		{"bad environment", Service{Overlays: map[string]string{"Prod": "overlays/prod"}}, "overlays"},
		{"escaping overlay", Service{Overlays: map[string]string{"prod": "../prod"}}, "overlays.prod"},
		{"absolute lint config", Service{Lint: Lint{Config: "/etc/golangci.yml"}}, "lint.config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.s.Resolve("example.com/svc")
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("want *settings.Error, got %v", err)
			}
			if se.Field != c.field {
				t.Fatalf("error names field %q, want %q (%v)", se.Field, c.field, err)
			}
			if !strings.Contains(err.Error(), FileName+" "+c.field) {
				t.Fatalf("message %q does not name %s %s", err, FileName, c.field)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	s, err := Service{Module: "app", Main: "./cmd/orders", Integration: Integration{Postgres: true}, Vuln: Vuln{Allow: "allow.txt"}, Port: 9090}.Resolve("github.com/go-aks/pipeline/app")
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal(s)): %v\n%s", err, data)
	}
	again, err := back.Resolve("github.com/go-aks/pipeline/app")
	if err != nil || !reflect.DeepEqual(again, s) {
		t.Fatalf("round trip:\n got %+v, %v\nwant %+v", again, err, s)
	}
	if _, err := (Service{Port: 70000}).Resolve("example.com/x"); err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("port 70000: error = %v, want one naming port", err)
	}
}
