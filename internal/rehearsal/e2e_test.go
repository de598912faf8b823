//go:build e2e

package rehearsal_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/promote"
	"github.com/go-aks/pipeline/internal/rehearsal"
	"github.com/go-aks/pipeline/internal/signing"
	"github.com/go-aks/pipeline/internal/testenv/env"
	"github.com/go-aks/pipeline/internal/testenv/registry"
)

// One environment and one rehearsal for all the cases, and the two services
// released: orders (this repository, described by its pipeline.yaml) and the
// greeter fixture (its own Go module, manifests and acceptance suite).
var (
	e               *env.Env
	r               *rehearsal.Rehearsal
	orders, greeter *rehearsal.Service
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	if err := env.CheckHost(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the end-to-end test cannot run on this machine:\n"+err.Error())
		return 1
	}
	var err error
	if orders, err = rehearsal.LoadService("../.."); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	if greeter, err = rehearsal.LoadService("testdata/services/greeter"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	t0 := time.Now()
	e, err = env.Start(ctx, env.Options{LogDir: os.Getenv("CLUSTER_LOG_DIR")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: start the test environment:", err)
		return 1
	}
	fp := e.Footprint()
	defer func() {
		t1 := time.Now()
		if err := e.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: stop the test environment:", err)
			code = 1
		}
		fmt.Fprintf(os.Stderr, "environment stopped in %s\n", time.Since(t1).Round(100*time.Millisecond))
		if left := env.Leftovers(context.Background(), fp); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the environment left %d things behind:\n  %s\n", len(left), strings.Join(left, "\n  "))
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "nothing left behind (checked %d directories, %d addresses, mounts, processes, the node's network namespace, interfaces, iptables)\n", len(fp.Dirs), len(fp.Addrs))
		}
	}()
	slog.Info("environment up", "took", time.Since(t0).Round(100*time.Millisecond))
	var out *os.File
	if os.Getenv("REHEARSAL_VERBOSE") != "" {
		out = os.Stderr
	}
	opts := rehearsal.Options{Env: e, ProductionCanary: testCanary}
	if out != nil {
		opts.Output = out
	}
	r, err = rehearsal.New(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	fp.Dirs = append(fp.Dirs, r.Dir())
	defer func() {
		if err := r.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}()
	code = m.Run()
	fmt.Fprintln(os.Stderr, "\nstages of the end-to-end run:")
	_ = rehearsal.WriteSummary(os.Stderr, r.Stages())
	// Searched once everything ran, whichever cases were selected.
	if leaks, err := secretsInOutput(); err != nil || len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: secrets in the stages' output (%v):\n  %s\n", err, strings.Join(leaks, "\n  "))
		code = 1
	} else {
		fmt.Fprintln(os.Stderr, "no secret in the stages' output")
	}
	return code
}

var (
	goodOnce sync.Once
	good     rehearsal.Release
	goodErr  error
)

// goodRelease runs the happy path once: its release is the production state
// the other cases start from.
func goodRelease(t *testing.T) rehearsal.Release {
	t.Helper()
	goodOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		good, goodErr = r.Run(ctx, orders, rehearsal.BuildOptions{})
	})
	if goodErr != nil {
		t.Fatalf("the release path failed: %v", goodErr)
	}
	return good
}

// TestReleasePath runs publish -> staging -> acceptance -> promote ->
// production and checks what each stage left in the registries and the
// cluster.
func TestReleasePath(t *testing.T) {
	ctx := testContext(t)
	// A release of its own: what it checks (every stage, both environments
	// on its digest) must not depend on which cases ran before.
	from := len(r.Stages())
	rel, err := r.Run(ctx, orders, rehearsal.BuildOptions{})
	if err != nil {
		t.Fatalf("the release path failed: %v", err)
	}

	src := mustDigest(t, rel.NonProd)
	dst := mustDigest(t, rel.Prod)
	if src.Context().String() != r.NonProdRepository(orders) || dst.Context().String() != r.ProdRepository(orders) {
		t.Fatalf("references %s and %s are not in the non-production and production repositories", src, dst)
	}
	if src.DigestStr() != dst.DigestStr() {
		t.Fatalf("production digest %s differs from the published %s", dst.DigestStr(), src.DigestStr())
	}
	digest := src.DigestStr()

	// The registries: the same index in both, every platform, signatures.
	srcIdx := index(ctx, t, e.NonProd, src)
	dstIdx := index(ctx, t, e.Prod, dst)
	if got := platforms(t, srcIdx); strings.Join(got, ",") != strings.Join(orders.Settings.Platforms, ",") {
		t.Errorf("published index has platforms %v, want the settings' %v", got, orders.Settings.Platforms)
	}
	srcM, _ := srcIdx.IndexManifest()
	dstM, _ := dstIdx.IndexManifest()
	for i := range srcM.Manifests {
		if i >= len(dstM.Manifests) || srcM.Manifests[i].Digest != dstM.Manifests[i].Digest {
			t.Errorf("production index differs from non-production's at manifest %d", i)
		}
	}
	nonProdKey, prodKey := verifier(t, r.NonProdPublicKey()), verifier(t, r.ProdPublicKey())
	if _, err := signing.VerifySignature(ctx, src, nonProdKey, ro(ctx, e.NonProd)); err != nil {
		t.Errorf("non-production signature: %v", err)
	}
	if _, err := signing.VerifySignature(ctx, src, prodKey, ro(ctx, e.NonProd)); !errors.Is(err, signing.ErrUntrusted) {
		t.Errorf("the non-production image verifies with the production key (err %v): production signed the wrong registry", err)
	}
	if _, err := signing.VerifySignature(ctx, dst, prodKey, ro(ctx, e.Prod)); err != nil {
		t.Errorf("production signature: %v", err)
	}
	if _, err := signing.VerifySignature(ctx, dst, nonProdKey, ro(ctx, e.Prod)); err != nil {
		t.Errorf("the non-production signature was not copied with the image: %v", err)
	}
	// The acceptance record, in both registries.
	for _, side := range []struct {
		reg *registry.Registry
		d   name.Digest
	}{{e.NonProd, src}, {e.Prod, dst}} {
		rec, err := promote.AcceptedRecord(ctx, side.d, nonProdKey, env.Staging, ro(ctx, side.reg))
		if err != nil {
			t.Errorf("acceptance record of %s: %v", side.d, err)
			continue
		}
		if rec.Image != rel.NonProd || rec.Suite == nil || rec.Suite.Tests != rel.Acceptance.Suite.Tests || rec.Suite.Failures != 0 {
			t.Errorf("acceptance record of %s = %+v, want image %s and the suite's %d passing tests", side.d, rec, rel.NonProd, rel.Acceptance.Suite.Tests)
		}
	}
	if rel.Acceptance.Suite.Tests < 5 {
		t.Errorf("the acceptance suite ran %d tests; it has at least 5", rel.Acceptance.Suite.Tests)
	}

	// The cluster: both environments run exactly that digest, each from its registry.
	for _, c := range []struct{ ns, ref string }{{env.Staging, rel.NonProd}, {env.Production, rel.Prod}} {
		pods, err := r.PodImages(ctx, orders, c.ns)
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, p := range pods {
			if p.Spec != c.ref || p.Digest != digest {
				t.Errorf("%s pod %s runs %s (image id %s), want %s", c.ns, p.Pod, p.Spec, p.ImageID, c.ref)
			}
			if p.Ready {
				ready++
			}
		}
		if ready == 0 {
			t.Errorf("no ready pod in %s", c.ns)
		}
	}
	if rel.Staging.Outcome != deploy.Deployed && rel.Staging.Outcome != deploy.Unchanged {
		t.Errorf("staging deploy outcome %q", rel.Staging.Outcome)
	}

	// The summary: every stage of the path, in order, on the one digest.
	want := []string{"build", "publish", "deploy staging", "acceptance staging", "attest acceptance", "promote", "deploy production", "verify production"}
	stages := r.Stages()[from:]
	if len(stages) != len(want) {
		t.Fatalf("ran %d stages, want %d (%v)", len(stages), len(want), want)
	}
	for i, s := range stages {
		if s.Name != want[i] || !s.OK() || s.Digest != digest || s.Duration <= 0 {
			t.Errorf("stage %d = %s ok=%t digest %s (%s), want %s ok on %s", i, s.Name, s.OK(), s.Digest, s.Duration, want[i], digest)
		}
	}
}

// TestAcceptanceFailureStopsRelease: a build whose acceptance suite fails in
// staging gets no acceptance record, promote refuses it, and production is
// not touched.
func TestAcceptanceFailureStopsRelease(t *testing.T) {
	ctx := testContext(t)
	prev := goodRelease(t)
	prodBefore := productionState(ctx, t)

	rel, err := r.Run(ctx, orders, rehearsal.BuildOptions{Fault: rehearsal.FaultAcceptance})
	if err == nil {
		t.Fatal("the release path went through with a build that fails acceptance")
	}
	last := r.Stages()[len(r.Stages())-1]
	if last.Name != "acceptance staging" || last.OK() {
		t.Fatalf("the path stopped at %q (ok=%t), want a failed acceptance: %v", last.Name, last.OK(), err)
	}
	// The real suite ran against the broken build in staging and failed.
	if rel.Acceptance.Suite.Tests < 5 || rel.Acceptance.Suite.Failures+rel.Acceptance.Suite.Errors == 0 {
		t.Fatalf("JUnit report: %+v, want failures among the suite's tests", rel.Acceptance.Suite)
	}
	broken := mustDigest(t, rel.NonProd)
	if broken.DigestStr() == mustDigest(t, prev.NonProd).DigestStr() {
		t.Fatal("the broken build has the good build's digest")
	}
	if got, err := r.RunningDigests(ctx, orders, env.Staging); err != nil || len(got) != 1 || got[0] != broken.DigestStr() {
		t.Fatalf("staging runs %v (%v), want the broken %s the suite tested", got, err, broken.DigestStr())
	}
	// No acceptance record.
	nonProdKey := verifier(t, r.NonProdPublicKey())
	if rec, err := promote.AcceptedRecord(ctx, broken, nonProdKey, env.Staging, ro(ctx, e.NonProd)); err == nil {
		t.Fatalf("the broken build has an acceptance record: %+v", rec)
	}
	// Promote refuses, and writes nothing to production.
	if ref, err := r.Promote(ctx, orders, rel.NonProd); err == nil {
		t.Fatalf("promote accepted a build that failed acceptance: %s", ref)
	} else {
		var ce *rehearsal.CommandError
		if !errors.As(err, &ce) {
			t.Fatalf("promote failed before running: %v", err)
		}
	}
	prodRepo, _ := name.NewRepository(r.ProdRepository(orders), name.Insecure)
	if manifestExists(ctx, t, e.Prod, prodRepo.Digest(broken.DigestStr())) {
		t.Fatal("the broken build reached the production registry")
	}
	if tagExists(ctx, t, e.Prod, prodRepo.Tag(sigTag(broken.DigestStr()))) {
		t.Fatal("a signature of the broken build reached the production registry")
	}
	// Production untouched: same Deployment revision and image, same digest running.
	if after := productionState(ctx, t); after != prodBefore {
		t.Fatalf("production changed: before %+v, after %+v", prodBefore, after)
	}
}

// TestRepushedTagPromotesAcceptedDigest: after acceptance, another image is
// pushed under the same tag; the pipeline still promotes and deploys exactly
// the accepted digest, and the re-pushed image never reaches production.
func TestRepushedTagPromotesAcceptedDigest(t *testing.T) {
	ctx := testContext(t)
	goodRelease(t)
	const tag = "candidate"

	img, err := r.Build(ctx, orders, rehearsal.BuildOptions{Created: "2020-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := r.Publish(ctx, orders, img, tag)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Deploy(ctx, orders, env.Staging, accepted); err != nil {
		t.Fatal(err)
	}
	res, err := r.Acceptance(ctx, orders, accepted)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Attest(ctx, orders, accepted, res); err != nil {
		t.Fatal(err)
	}

	// Someone re-pushes the tag: same source, another digest, properly signed.
	other, err := r.Build(ctx, orders, rehearsal.BuildOptions{Created: "2021-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	repushed, err := r.Publish(ctx, orders, other, tag)
	if err != nil {
		t.Fatal(err)
	}
	acc, rep := mustDigest(t, accepted), mustDigest(t, repushed)
	if acc.DigestStr() == rep.DigestStr() {
		t.Fatal("the re-pushed image has the accepted digest")
	}
	nonProdRepo, _ := name.NewRepository(r.NonProdRepository(orders), name.Insecure)
	for _, tg := range []string{tag, r.Revision()} {
		if got := resolve(ctx, t, e.NonProd, nonProdRepo.Tag(tg)); got != rep.DigestStr() {
			t.Fatalf("tag %s resolves to %s, want the re-pushed %s", tg, got, rep.DigestStr())
		}
	}

	// The tag is refused; the kept digest reference is promoted.
	if ref, err := r.Promote(ctx, orders, nonProdRepo.Tag(tag).String()); err == nil {
		t.Fatalf("promote accepted a tag: %s", ref)
	}
	prod, err := r.Promote(ctx, orders, accepted)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustDigest(t, prod).DigestStr(); got != acc.DigestStr() {
		t.Fatalf("promoted %s, want the accepted %s", got, acc.DigestStr())
	}
	if _, err := r.Deploy(ctx, orders, env.Production, prod); err != nil {
		t.Fatal(err)
	}
	if err := r.VerifyProduction(ctx, orders, prod); err != nil {
		t.Fatal(err)
	}
	if got, err := r.RunningDigests(ctx, orders, env.Production); err != nil || len(got) != 1 || got[0] != acc.DigestStr() {
		t.Fatalf("production runs %v (%v), want the accepted %s", got, err, acc.DigestStr())
	}
	prodRepo, _ := name.NewRepository(r.ProdRepository(orders), name.Insecure)
	if manifestExists(ctx, t, e.Prod, prodRepo.Digest(rep.DigestStr())) {
		t.Fatal("the re-pushed image reached the production registry")
	}
	if _, err := promote.AcceptedRecord(ctx, rep, verifier(t, r.NonProdPublicKey()), env.Staging, ro(ctx, e.NonProd)); err == nil {
		t.Fatal("the re-pushed image has an acceptance record")
	}
}

// TestProductionRolloutFailureRollsBack: a build that passes staging but
// crashes in production is rolled back to the previous good digest, which
// serves every request of a probe loop throughout.
func TestProductionRolloutFailureRollsBack(t *testing.T) {
	ctx := testContext(t)
	goodRelease(t)
	before := productionState(ctx, t)
	p := probeProduction(ctx, t)

	rel, runErr := r.Run(ctx, orders, rehearsal.BuildOptions{Fault: rehearsal.FaultProductionCrash})
	// Keep probing a little after the rollback: 20 more requests.
	if err := p.more(ctx, 20); err != nil {
		t.Errorf("the probe made no 20 requests after the rollback: %v", err)
	}
	res := p.stop()
	t.Logf("probe: %d requests, %d failed", res.requests, len(res.failures))

	stoppedInProduction(t, rel, runErr, "the production rollout of a crashing build succeeded")
	// Production's canary strategy stops the crash before the stable
	// Deployment changes; a rolling update would have rolled back.
	if rel.Production.Outcome != deploy.CanaryFailed && rel.Production.Outcome != deploy.RolledBack {
		t.Errorf("deploy reported outcome %q, want %q (or %q)", rel.Production.Outcome, deploy.CanaryFailed, deploy.RolledBack)
	}
	crash := mustDigest(t, rel.Prod).DigestStr()
	// Production back on the previous digest, the failed pods gone.
	var after prodState
	_ = poll(ctx, 2*time.Minute, func() bool {
		after = productionState(ctx, t)
		return after.image == before.image && after.digests == before.digests
	})
	if after.image != before.image || after.digests != before.digests {
		t.Fatalf("production runs %s (image %s), want the previous %s (%s); crashing build %s", after.digests, after.image, before.digests, before.image, crash)
	}
	if res.requests < 20 {
		t.Errorf("the probe made only %d requests", res.requests)
	}
	if len(res.failures) > 0 {
		t.Errorf("%d of %d probe requests to production failed during the failed rollout, first: %s", len(res.failures), res.requests, res.failures[0])
	}
}

// poll calls cond every 200ms until it holds, ctx ends or timeout passes.
// stoppedInProduction checks that a production-only fault passed staging
// and acceptance, was promoted, and stopped the path at a failed production
// deploy; reached says what it means if the path went through.
func stoppedInProduction(t *testing.T, rel rehearsal.Release, runErr error, reached string) {
	t.Helper()
	if runErr == nil {
		t.Fatal(reached)
	}
	last := r.Stages()[len(r.Stages())-1]
	if last.Name != "deploy production" || last.OK() {
		t.Fatalf("the path stopped at %q (ok=%t), want a failed production deploy: %v", last.Name, last.OK(), runErr)
	}
	if rel.Acceptance.Suite.Tests == 0 || rel.Acceptance.Suite.Failures != 0 || rel.Prod == "" {
		t.Fatalf("the production-only fault should pass staging and be promoted: %+v", rel)
	}
}

func poll(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s: %w", timeout, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// prodState is what a release could change in production (not the replica
// count, which the autoscaler owns).
type prodState struct {
	revision string
	image    string
	digests  string
}

func productionState(ctx context.Context, t *testing.T) prodState {
	t.Helper()
	cs, err := e.Client(env.Production)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(env.Production).Get(ctx, orders.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.RunningDigests(ctx, orders, env.Production)
	if err != nil {
		t.Fatal(err)
	}
	return prodState{revision: d.Annotations["deployment.kubernetes.io/revision"], image: d.Spec.Template.Spec.Containers[0].Image, digests: strings.Join(got, ",")}
}

func mustDigest(t *testing.T, ref string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(ref, name.Insecure)
	if err != nil {
		t.Fatalf("%q is not a digest reference: %v", ref, err)
	}
	return d
}

func ro(ctx context.Context, reg *registry.Registry) signing.RegistryOptions {
	return signing.RegistryOptions{
		Remote: []remote.Option{remote.WithAuth(reg.Authenticator()), remote.WithContext(ctx)},
		Name:   []name.Option{name.Insecure},
	}
}

func verifier(t *testing.T, path string) *signing.Verifier {
	t.Helper()
	pem, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.VerifierFromPEM(path, pem)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func index(ctx context.Context, t *testing.T, reg *registry.Registry, d name.Digest) v1.ImageIndex {
	t.Helper()
	idx, err := remote.Index(d, remote.WithAuth(reg.Authenticator()), remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("read index %s: %v", d, err)
	}
	got, err := idx.Digest()
	if err != nil || got.String() != d.DigestStr() {
		t.Fatalf("index %s has digest %s (%v)", d, got, err)
	}
	return idx
}

func platforms(t *testing.T, idx v1.ImageIndex) []string {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range m.Manifests {
		if d.Platform != nil {
			out = append(out, d.Platform.OS+"/"+d.Platform.Architecture)
		}
	}
	return out
}

func manifestExists(ctx context.Context, t *testing.T, reg *registry.Registry, ref name.Reference) bool {
	t.Helper()
	_, err := remote.Head(ref, remote.WithAuth(reg.Authenticator()), remote.WithContext(ctx))
	var terr *transport.Error
	switch {
	case err == nil:
		return true
	case errors.As(err, &terr) && terr.StatusCode == 404:
		return false
	default:
		t.Fatalf("look up %s: %v", ref, err)
		return false
	}
}

func tagExists(ctx context.Context, t *testing.T, reg *registry.Registry, tag name.Tag) bool {
	return manifestExists(ctx, t, reg, tag)
}

func resolve(ctx context.Context, t *testing.T, reg *registry.Registry, tag name.Tag) string {
	t.Helper()
	desc, err := remote.Head(tag, remote.WithAuth(reg.Authenticator()), remote.WithContext(ctx))
	if err != nil {
		t.Fatalf("resolve %s: %v", tag, err)
	}
	return desc.Digest.String()
}

// sigTag is cosign's signature tag of a digest.
func sigTag(digest string) string { return strings.Replace(digest, ":", "-", 1) + ".sig" }

// secretsInOutput searches everything the stages printed (their logs and
// the summary) for the registry, database and key passwords, plain and
// base64-encoded. TestMain runs it after every case, so it covers them all.
func secretsInOutput() ([]string, error) {
	keys := rehearsal.Secrets(r)
	secrets := map[string]string{
		"non-production key password": keys[0], "production key password": keys[1],
		"non-production registry password": e.NonProd.Password, "production registry password": e.Prod.Password,
		"database password": e.DB.Password,
	}
	forms := map[string]string{}
	for what, s := range secrets {
		if s == "" {
			return nil, fmt.Errorf("the %s is empty: nothing to search for", what)
		}
		forms[s] = what
		forms[base64.StdEncoding.EncodeToString([]byte(s))] = what + " (base64)"
	}
	for _, reg := range []*registry.Registry{e.NonProd, e.Prod} {
		forms[base64.StdEncoding.EncodeToString([]byte(reg.Username+":"+reg.Password))] = "basic credentials of " + reg.Host
	}
	var summary strings.Builder
	if err := rehearsal.WriteSummary(&summary, r.Stages()); err != nil {
		return nil, err
	}
	outputs := map[string]string{"summary": summary.String()}
	logs, err := filepath.Glob(filepath.Join(r.Dir(), "logs", "*.log"))
	if err != nil {
		return nil, err
	}
	// Every stage that ran a command left a log; the tools' build and the
	// keys' generation left theirs before any case.
	if len(logs) == 0 {
		return nil, errors.New("found no stage log to search")
	}
	for _, l := range logs {
		b, err := os.ReadFile(filepath.Clean(l))
		if err != nil {
			return nil, err
		}
		outputs[filepath.Base(l)] = string(b)
	}
	var leaks []string
	for where, out := range outputs {
		for f, what := range forms {
			if strings.Contains(out, f) {
				leaks = append(leaks, fmt.Sprintf("the %s appears in %s", what, where))
			}
		}
	}
	return leaks, nil
}
