package enginerec_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"dagger.io/dagger"

	"dagger/pipeline/internal/enginerec"
)

// start runs a recorder and connects the real SDK client to it through the
// session environment, as a module's runtime connects.
func start(t *testing.T) (*enginerec.Recorder, *dagger.Client) {
	t.Helper()
	ctx := context.Background()
	dir, err := enginerec.SDKDir(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := enginerec.LoadSchema(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := enginerec.Start(ctx, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	for k, v := range rec.Env() {
		t.Setenv(k, v)
	}
	c, err := dagger.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return rec, c
}

func TestSDKRoundTrip(t *testing.T) {
	rec, c := start(t)
	ctx := context.Background()
	rec.Answer(func(call enginerec.Call) (any, bool) {
		if call.Fields("exitCode") && call.ExecContains("false") {
			return 3, true
		}
		return nil, false
	}, func(call enginerec.Call) (any, bool) {
		if call.Fields("contents") && call.ReadsFile() == "/out/x" {
			return "hello", true
		}
		return nil, false
	})
	src := c.Directory().WithNewFile("a.txt", "A")
	secret := c.LoadSecretFromID(dagger.SecretID(rec.Secret("pw", "s3cr3t-value")))
	ctr := c.Container().From("golang:1.27").
		WithMountedCache("/cache", c.CacheVolume("gomod")).
		WithMountedDirectory("/src", src).
		WithSecretVariable("PW", secret).
		WithExec([]string{"false"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ctr.ExitCode(ctx)
	if err != nil || code != 3 {
		t.Fatalf("exit code = %d, %v; want 3 (scripted)", code, err)
	}
	got, err := ctr.File("/out/x").Contents(ctx)
	if err != nil || got != "hello" {
		t.Fatalf("contents = %q, %v; want hello", got, err)
	}
	entries, err := ctr.Directory("/out").Entries(ctx)
	if err != nil || len(entries) != 0 {
		t.Fatalf("entries = %v, %v; want empty", entries, err)
	}
	synced, err := ctr.Sync(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	// An object loaded by its ID (node(id){... on Container}) continues the chain the ID names.
	if code, err := synced.ExitCode(ctx); err != nil || code != 3 {
		t.Fatalf("exit code after sync = %d, %v; want 3 (the same exec)", code, err)
	}
	execs := rec.Execs()
	if len(execs) != 1 || !slices.Equal(execs[0].Args, []string{"false"}) {
		t.Fatalf("execs = %+v; want one exec of false", execs)
	}
	id := execs[0].Identity
	for _, want := range []string{`container.from(address:"golang:1.27")`, `withMountedDirectory(path:"/src",source:<directory.withNewFile(contents:"A",path:"a.txt")>)`, `expect:ANY`, `loadSecretFromID(id:"enginerec-secret:pw")`, `cacheVolume(key:"gomod")`} {
		if !strings.Contains(id, want) {
			t.Errorf("identity %s\nlacks %s", id, want)
		}
	}
	if leaks := rec.Leaks(); len(leaks) != 0 {
		t.Errorf("secret value in requests: %v", leaks)
	}
	// A secret set by value is caught.
	if _, err := c.Container().WithSecretVariable("X", c.SetSecret("x", "s3cr3t-value")).ExitCode(ctx); err != nil {
		t.Fatal(err)
	}
	if leaks := rec.Leaks(); len(leaks) != 1 {
		t.Errorf("leaks = %d; want the one request that set the secret by value", len(leaks))
	}
}

func TestUnknownFieldAndAuth(t *testing.T) {
	rec, c := start(t)
	ctx := context.Background()
	var resp dagger.Response
	err := c.Do(ctx, &dagger.Request{Query: "query{container{noSuchField}}"}, &resp)
	if err == nil || !strings.Contains(err.Error(), `cannot query field "noSuchField" on type "Container"`) {
		t.Fatalf("err = %v; want the unknown field named", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:"+rec.Env()["DAGGER_SESSION_PORT"]+"/query", strings.NewReader(`{"query":"query{defaultPlatform}"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("wrong-token", "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status with a wrong session token = %d; want 401", res.StatusCode)
	}
}
