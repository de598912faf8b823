//go:build integration

package promote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/releasetest"
	"github.com/go-aks/pipeline/internal/sbom"
	"github.com/go-aks/pipeline/internal/signing"
	"github.com/go-aks/pipeline/internal/testenv/toolbin"
)

// Benchmark sizes: 2 platforms x 3 layers x 8 MiB of random (incompressible)
// data, about 48 MiB in all.
const (
	benchLayers    = 3
	benchLayerSize = 8 << 20
)

// bigIndex is a 2-platform image of random layers.
func bigIndex(b *testing.B) v1.ImageIndex {
	b.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		img, err := random.Image(benchLayerSize, benchLayers)
		if err != nil {
			b.Fatal(err)
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			b.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx
}

// BenchmarkPromote promotes a ~48 MiB two-platform image between the two
// real registries, beside `crane copy` of the same image, each a first time
// (empty destination repository) and again (already there); and, first
// time only, beside crane copying the image and then its .sig and .att
// manifests. Bytes are counted at the production registry's proxy: blob
// upload bytes per op.
//
//	go test -tags integration -run '^$' -bench BenchmarkPromote -benchtime 5x -count 3 ./internal/promote/
func BenchmarkPromote(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	f := &fixture{Env: releasetest.Start(b)}
	srcRepo, err := name.NewRepository(f.NonProd.Host()+"/bench/orders", name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	srcClient := f.NonProd.Client(nil)
	sro := signing.RegistryOptions{Remote: srcClient.Remote(ctx), Name: srcClient.NameOptions()}
	idx := bigIndex(b)
	d, err := idx.Digest()
	if err != nil {
		b.Fatal(err)
	}
	src := srcRepo.Digest(d.String())
	if err := remote.WriteIndex(src, idx, sro.Remote...); err != nil {
		b.Fatal(err)
	}
	if _, err := signing.Sign(ctx, src, f.NonProdKey.Signer(b), sro); err != nil {
		b.Fatal(err)
	}
	rec, err := acceptance.New("staging", src.String(), &acceptance.Suite{Tests: 1}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	pred, err := json.Marshal(rec)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := signing.Attest(ctx, src, f.NonProdKey.Signer(b), acceptance.PredicateType, pred, sro, false); err != nil {
		b.Fatal(err)
	}
	// SBOM and provenance, so promote does all its verification.
	sample := releasetest.SampleIndex(ctx, b, "bench")
	sbomDoc, err := sbom.FromIndex(ctx, sample, srcRepo.String(), time.Unix(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	bins, err := sbom.IndexBinaries(ctx, sample)
	if err != nil {
		b.Fatal(err)
	}
	provDoc, err := provenance.Build(provenance.Inputs{SourceRepository: "https://github.com/go-aks/pipeline", SourceRevision: "bench", Binaries: bins})
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []struct {
		typ string
		doc []byte
	}{{"spdxjson", sbomDoc}, {"slsaprovenance1", provDoc}} {
		if _, err := signing.Attest(ctx, src, f.NonProdKey.Signer(b), a.typ, a.doc, sro, false); err != nil {
			b.Fatal(err)
		}
	}

	crane := craneBinary(ctx, b)
	dockerConfig := b.TempDir()
	writeDockerConfig(b, dockerConfig, f)

	prodSigner := f.ProdKey.Signer(b)
	promoteTo := func(repo string) {
		to, err := name.NewRepository(f.Prod.Host()+"/"+repo, name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		_, err = Promote(ctx, Options{
			From: src, To: to, Source: f.NonProd.Client(nil), Target: f.Prod.Client(nil),
			SourceKey: f.NonProdKey.Verifier(b), AcceptanceEnvironment: "staging", Signer: prodSigner,
			ExpectSourceRevision: "bench",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	craneCopy := func(repo string) {
		cmd := exec.CommandContext(ctx, crane, "copy", "--insecure", src.String(), f.Prod.Host()+"/"+repo+"@"+d.String())
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("crane copy: %v\n%s", err, out)
		}
	}
	// crane copying what promote writes besides the image (the .sig and
	// .att manifests, at once, after the image): the cost of the
	// attachments themselves, without verification or a new signature.
	craneCopyAll := func(repo string) {
		craneCopy(repo)
		tag := strings.Replace(d.String(), ":", "-", 1)
		errs := make(chan error, 2)
		for _, k := range []string{".sig", ".att"} {
			go func() {
				cmd := exec.CommandContext(ctx, crane, "copy", "--insecure", srcRepo.String()+":"+tag+k, f.Prod.Host()+"/"+repo+":"+tag+k)
				cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
				out, err := cmd.CombinedOutput()
				if err != nil {
					err = fmt.Errorf("crane copy %s: %w\n%s", k, err, out)
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	run := func(b *testing.B, name string, prepare func(i int) string, op func(repo string)) {
		b.Run(name, func(b *testing.B) {
			var bytes, uploads, requests int64
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				repo := prepare(i)
				f.Prod.Proxy.Reset()
				b.StartTimer()
				start := time.Now()
				op(repo)
				elapsed += time.Since(start)
				st := f.Prod.Proxy.Stats()
				bytes += st.BlobUploadBytes
				uploads += st.BlobUploads
				requests += st.Requests
			}
			n := int64(b.N)
			b.ReportMetric(float64(bytes)/float64(n)/(1<<20), "MiB-uploaded/op")
			b.ReportMetric(float64(uploads)/float64(n), "blob-uploads/op")
			b.ReportMetric(float64(requests)/float64(n), "requests/op")
			fmt.Printf("FIGURE %-14s %8.2fs/op %8.2f MiB uploaded/op %6d requests/op\n",
				name, elapsed.Seconds()/float64(n), float64(bytes)/float64(n)/(1<<20), requests/n)
		})
	}
	seq := 0
	fresh := func(prefix string) func(int) string {
		return func(int) string { seq++; return fmt.Sprintf("bench/%s-%d", prefix, seq) }
	}
	already := func(prefix string, op func(string)) func(int) string {
		repo := fmt.Sprintf("bench/%s-done", prefix)
		done := false
		return func(int) string {
			if !done {
				op(repo)
				done = true
			}
			return repo
		}
	}
	// paired alternates a first promote and a first crane copy, each to a
	// fresh repository, swapping which goes first, so both meet the same
	// machine: the figure is the median of the per-pair ratios.
	paired := func(b *testing.B) {
		b.Run("paired-first", func(b *testing.B) {
			var ratios, ptimes, ctimes []float64
			for i := 0; i < b.N; i++ {
				timed := func(op func(string), prefix string) float64 {
					repo := fresh(prefix)(i)
					start := time.Now()
					op(repo)
					return time.Since(start).Seconds()
				}
				var p, c float64
				if i%2 == 0 {
					p, c = timed(promoteTo, "paired-promote"), timed(craneCopy, "paired-crane")
				} else {
					c, p = timed(craneCopy, "paired-crane"), timed(promoteTo, "paired-promote")
				}
				ratios, ptimes, ctimes = append(ratios, p/c), append(ptimes, p), append(ctimes, c)
			}
			b.ReportMetric(median(ratios), "promote/crane")
			b.ReportMetric(median(ptimes), "promote-s")
			b.ReportMetric(median(ctimes), "crane-s")
			fmt.Printf("FIGURE paired-first   promote %.3fs crane %.3fs (medians of %d pairs), promote/crane %.3f (median of the pairs' ratios)\n",
				median(ptimes), median(ctimes), b.N, median(ratios))
		})
	}
	fmt.Printf("FIGURE image: 2 platforms x %d layers x %d MiB random, digest %s\n", benchLayers, benchLayerSize>>20, d)
	paired(b)
	run(b, "promote-first", fresh("promote"), promoteTo)
	run(b, "crane-first", fresh("crane"), craneCopy)
	run(b, "crane-all-first", fresh("crane-all"), craneCopyAll)
	run(b, "promote-again", already("promote", promoteTo), promoteTo)
	run(b, "crane-again", already("crane", craneCopy), craneCopy)
}

func craneBinary(ctx context.Context, b *testing.B) string {
	b.Helper()
	dir, err := toolbin.Build(ctx, toolbin.Spec{Module: "hack/tools", Packages: []string{"github.com/google/go-containerregistry/cmd/crane"}})
	if err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, "crane")
}

// writeDockerConfig gives crane the two registries' credentials.
func writeDockerConfig(b *testing.B, dir string, f *fixture) {
	b.Helper()
	auths := map[string]any{}
	for _, s := range []struct{ host, user, pass string }{
		{f.NonProd.Host(), f.NonProd.Registry.Username, f.NonProd.Registry.Password},
		{f.Prod.Host(), f.Prod.Registry.Username, f.Prod.Registry.Password},
	} {
		auths[s.host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(s.user + ":" + s.pass))}
	}
	data, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		b.Fatal(err)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
