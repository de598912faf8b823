package main

import (
	"context"
	"strings"
	"testing"

	"dagger/pipeline/internal/enginerec"
)

func publish(t *testing.T) string {
	t.Helper()
	ref, err := pipeline().Publish(context.Background(), "nonprod.example:5000", "orders",
		secret("registry-user", "user-9f1c"), secret("registry-password", "password-5d2e"), []string{"latest"},
		secret("cosign-key", "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----x1"), secret("cosign-password", "keypw-77aa"),
		"", "", "", nil, true, dag.Container().From("registry:3").AsService())
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestPublishWiring: the image is built and pushed by the pipeline's own
// release command, credentials and key only as secrets, the registry
// service bound under the registry's host name.
func TestPublishWiring(t *testing.T) {
	script(t, baseRules()...)
	if ref := publish(t); ref != testDigestRef {
		t.Fatalf("Publish returned %q, want the reference the ref file holds", ref)
	}
	e := oneExec(t, "release", "publish")
	want := []string{"release", "publish", "--layout", "/work/layout", "--repository", "nonprod.example:5000/orders",
		"--tag", testRevision, "--tag", "latest", "--key", signingKeyPath, "--plain-http", "--ref-file", refFile}
	if strings.Join(e.Args, " ") != strings.Join(want, " ") {
		t.Errorf("publish exec = %q\nwant %q", e.Args, want)
	}
	id := e.Identity
	for _, want := range []string{
		`container.from(address:"` + testGoImage + `")`,
		`withMountedSecret(path:"` + signingKeyPath + `",source:<loadSecretFromID(id:"enginerec-secret:cosign-key")>)`,
		`withSecretVariable(name:"COSIGN_PASSWORD",secret:<loadSecretFromID(id:"enginerec-secret:cosign-password")>)`,
		`withSecretVariable(name:"REGISTRY_USERNAME",secret:<loadSecretFromID(id:"enginerec-secret:registry-user")>)`,
		`withSecretVariable(name:"REGISTRY_PASSWORD",secret:<loadSecretFromID(id:"enginerec-secret:registry-password")>)`,
		`withServiceBinding(alias:"nonprod.example",service:<container.from(address:"registry:3").asService>)`,
		`cacheVolume(key:"` + goModCache + `")`, `cacheVolume(key:"` + goBuildCache + `")`,
	} {
		if !strings.Contains(id, want) {
			t.Errorf("publish exec lacks %s", want)
		}
	}
	// The layout comes from `release image` over the binaries of every platform.
	layout := stepIndex(e.Chain, 0, "withDirectory", `path:"/work/layout"`)
	if layout < 0 || !strings.Contains(e.Chain[layout].Arg("source"), `withExec(args:["release","image"`) {
		t.Fatalf("the published layout is not the output of release image")
	}
	for _, p := range []string{"linux_amd64", "linux_arm64"} {
		if !strings.Contains(e.Chain[layout].Arg("source"), "/out/"+p+"/orders") {
			t.Errorf("the layout lacks the %s binary", p)
		}
	}
	noLeaks(t)
}

// TestPublishRunsPerCall: two identical calls push twice (the push exec has a
// per-call input right before it), while the build under it stays cached.
func TestPublishRunsPerCall(t *testing.T) {
	script(t, baseRules()...)
	publish(t)
	publish(t)
	pushes := identities("release", "publish")
	if len(pushes) != 2 {
		t.Fatalf("two identical publish calls gave %d distinct push execs, want 2 (the second was served from cache)", len(pushes))
	}
	if n := len(identities("release", "image")); n != 1 {
		t.Errorf("the image assembly has %d identities over two calls, want 1 (cached)", n)
	}
	for _, e := range execs("release", "publish") {
		if name, _ := envBeforeExec(e.Chain); name == "" {
			t.Errorf("the push exec has no per-call input right before it")
		}
		// After the cached layers: the tools, the layout, the credentials.
		nonce := e.Chain.LastExec() - 1
		for _, layer := range []struct{ field, text string }{
			{"withDirectory", `path:"` + toolsBin + `"`},
			{"withDirectory", `path:"/work/layout"`},
			{"withSecretVariable", `name:"REGISTRY_PASSWORD"`},
		} {
			if i := stepIndex(e.Chain, 0, layer.field, layer.text); i < 0 || i > nonce {
				t.Errorf("%s(%s) is not before the per-call input", layer.field, layer.text)
			}
		}
	}
}

func promote(t *testing.T) {
	t.Helper()
	p, err := pipeline().Promote(context.Background(), testDigestRef, "prod.example:5000/orders",
		dag.Directory().WithNewFile("cosign.pub", "PUBLIC").File("cosign.pub"), nil,
		secret("src-user", "src-user-1"), secret("src-password", "src-pw-2"), secret("dst-user", "dst-user-3"), secret("dst-password", "dst-pw-4"),
		nil, nil, "azurekms://prod.vault.azure.net/cosign", "tenant-id", "client-id", secret("azure-client-secret", "azure-cs-5"),
		false, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ref != prodRef {
		t.Fatalf("Promote returned %q", p.Ref)
	}
}

// TestPromoteRunsPerCall: promotion copies by digest with the production
// credentials as secrets; two identical calls run it twice.
func TestPromoteRunsPerCall(t *testing.T) {
	script(t, append([]enginerec.Rule{fileContents(refFile, prodRef)}, baseRules()...)...)
	promote(t)
	promote(t)
	ids := identities("release", "promote")
	if len(ids) != 2 {
		t.Fatalf("two identical promote calls gave %d distinct promote execs, want 2", len(ids))
	}
	for _, want := range []string{
		`withSecretVariable(name:"TARGET_REGISTRY_PASSWORD",secret:<loadSecretFromID(id:"enginerec-secret:dst-password")>)`,
		`withSecretVariable(name:"AZURE_CLIENT_SECRET",secret:<loadSecretFromID(id:"enginerec-secret:azure-client-secret")>)`,
		`withEnvVariable(name:"AZURE_TENANT_ID",value:"tenant-id")`,
	} {
		if !strings.Contains(ids[0], want) {
			t.Errorf("promote exec lacks %s", want)
		}
	}
	noLeaks(t)
}

// TestToolsCachedAcrossServiceChanges: the pipeline's own commands are built
// from the module's repository alone (modules downloaded before the sources
// are added), so a change of the service rebuilds the service, not the tools.
func TestToolsCachedAcrossServiceChanges(t *testing.T) {
	script(t, baseRules()...)
	ctx := context.Background()
	for _, main := range []string{"package main\n\nfunc main() {}\n", "package main\n\nfunc main() { println(1) }\n"} {
		src := dag.Directory().WithNewFile("go.mod", testGoMod).WithNewFile("cmd/orders/main.go", main)
		if _, err := pipelineOf(src).Build(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tools := execs("go", "build", "-trimpath", "-o", "/out/")
	if len(tools) != 1 {
		t.Fatalf("the pipeline's commands were built %d different ways for two service sources, want 1 (cached)", len(tools))
	}
	download := stepIndex(tools[0].Chain, 0, "withExec", `"go","mod","download"`)
	sources := stepIndex(tools[0].Chain, download, "withDirectory", `path:"/pipeline"`)
	if download < 0 || sources < 0 {
		t.Errorf("the tools' modules are not downloaded before their sources are added: %s", tools[0].Identity)
	}
	if strings.Contains(tools[0].Identity, "cmd/orders/main.go") {
		t.Errorf("the tools' build depends on the service's source")
	}
	var service []string
	for _, e := range rec.Execs() {
		if len(e.Args) > 1 && e.Args[0] == "go" && e.Args[1] == "build" && strings.Contains(strings.Join(e.Args, " "), "/out/linux_amd64/") {
			service = append(service, e.Identity)
		}
	}
	if len(service) != 2 {
		t.Errorf("service builds for two sources: %d distinct, want 2", len(service))
	}
}
