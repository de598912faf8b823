package rehearsal

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWriteSummary(t *testing.T) {
	d1 := "sha256:" + strings.Repeat("ab", 32)
	stages := []Stage{
		{Name: "build", Duration: 3200 * time.Millisecond, Digest: d1, Detail: "linux/amd64, linux/arm64"},
		{Name: "publish", Duration: 700 * time.Millisecond, Digest: d1, Ref: "reg/orders@" + d1},
		{Name: "acceptance staging", Duration: time.Second, Digest: d1, Detail: "18 tests, 3 failed", Err: errors.New("acceptance staging: the suite failed")},
	}
	var b strings.Builder
	if err := WriteSummary(&b, stages); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	tests := []struct {
		name, want string
	}{
		{"header", "STAGE"},
		{"build row", "build               ok      3.2s      sha256:abababababab  linux/amd64, linux/arm64"},
		{"ref after detail", "publish             ok      700ms     sha256:abababababab  reg/orders@" + d1},
		{"failed row", "acceptance staging  FAILED  1s        sha256:abababababab  18 tests, 3 failed"},
		{"total", "total                       4.9s"},
		{"full digest once", "sha256:abababababab = " + d1},
		{"failure reason", `stage "acceptance staging" failed: acceptance staging: the suite failed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimRight(l, " "), tc.want) {
					return
				}
			}
			t.Errorf("no line starts with %q in:\n%s", tc.want, out)
		})
	}
	if n := strings.Count(out, " = "+d1); n != 1 {
		t.Errorf("full digest listed %d times, want once", n)
	}
}

func TestParseFault(t *testing.T) {
	tests := []struct {
		in      string
		want    Fault
		wantErr bool
	}{
		{"", NoFault, false},
		{"none", NoFault, false},
		{"acceptance", FaultAcceptance, false},
		{"production-crash", FaultProductionCrash, false},
		{"crash", NoFault, true},
	}
	for _, tc := range tests {
		got, err := ParseFault(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseFault(%q) = %q, %v; want %q, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	for _, f := range Faults {
		if StopStage(f) == "" {
			t.Errorf("fault %q has no stop stage", f)
		}
	}
}

func TestDigestOf(t *testing.T) {
	d := "sha256:" + strings.Repeat("0", 64)
	tests := []struct{ in, want string }{
		{"198.18.255.1:5000/orders@" + d, d},
		{d, d},
		{"198.18.255.1:5000/orders:v1", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := digestOf(tc.in); got != tc.want {
			t.Errorf("digestOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	for i := 0; i < tailLines+10; i++ {
		_, _ = tb.Write([]byte("line " + strings.Repeat("x", i%3) + "\n"))
	}
	_, _ = tb.Write([]byte("partial"))
	got := strings.Split(strings.TrimSuffix(tb.String(), "\n"), "\n")
	if len(got) != tailLines+1 || got[len(got)-1] != "partial" {
		t.Fatalf("tail has %d lines ending %q, want %d ending \"partial\"", len(got), got[len(got)-1], tailLines+1)
	}
}

func TestGoEnvDropsSecrets(t *testing.T) {
	t.Setenv("REGISTRY_PASSWORD", "s3cret")
	t.Setenv("COSIGN_PASSWORD", "s3cret")
	t.Setenv("GOFLAGS", "-mod=mod")
	env := goEnv(map[string]string{"GOFLAGS": "-buildvcs=false"})
	joined := strings.Join(env, "\n")
	if strings.Contains(joined, "s3cret") {
		t.Error("go commands would see a registry or key password")
	}
	if strings.Count(joined, "GOFLAGS=") != 1 || !strings.Contains(joined, "GOFLAGS=-buildvcs=false") {
		t.Errorf("GOFLAGS not replaced: %v", env)
	}
}
