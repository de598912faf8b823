package main

import (
	"context"
	"testing"
)

const testDigestRef = "registry.example:5000/orders@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testSource() *Pipeline {
	src := dag.Directory().WithNewFile("go.mod", "module example.com/svc\n\ngo 1.27\n\ntoolchain go1.27.3\n")
	return New(src, "docker.io/library", "", "bookworm", "postgres:15-bookworm", "https://example.com/svc", "abc1234", "1970-01-01T00:00:00Z")
}

func TestPublishWiring(t *testing.T) {
	script(t, fileContents(refFile, testDigestRef), fileContents("go.mod", "module example.com/svc\n\ngo 1.27\n\ntoolchain go1.27.3\n"))
	ctx := context.Background()
	ref, err := testSource().Publish(ctx, "registry.example:5000", "orders", secret("user", "the-user"), secret("password", "pw-value-1"), nil,
		secret("key", "KEY-MATERIAL"), secret("keypw", "key-password"), "", "", "", nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ref != testDigestRef {
		t.Fatalf("ref = %s", ref)
	}
	e := oneExec(t, "release", "publish")
	t.Log(e.Identity)
	noLeaks(t)
}
