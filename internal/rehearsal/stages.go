package rehearsal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"dagger/pipeline/cmdline"
	"dagger/pipeline/settings"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/deploy"
	"github.com/go-aks/pipeline/internal/testenv/env"
)

// TestClusterComponents are the extra kustomize components production is
// deployed with on the test cluster when the service's manifests hold them:
// the cluster has no Secrets Store CSI driver, so the orders service's
// database password comes from the Secret orders-db as in staging. A service
// without them is deployed with its overlay alone.
var TestClusterComponents = []string{"components/db-password-from-secret"}

// productionComponents returns those of TestClusterComponents svc's
// manifests hold.
func productionComponents(svc *Service) []string {
	var out []string
	for _, c := range TestClusterComponents {
		if _, err := os.Stat(filepath.Join(svc.ManifestsDir(), filepath.FromSlash(c), "kustomization.yaml")); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// NonProdRepository and ProdRepository are REGISTRY/REPO of the service:
// its repository is named after it.
func (r *Rehearsal) NonProdRepository(svc *Service) string {
	return r.opts.Env.NonProd.Host + "/" + svc.Name()
}

// ProdRepository is the production REGISTRY/REPO.
func (r *Rehearsal) ProdRepository(svc *Service) string {
	return r.opts.Env.Prod.Host + "/" + svc.Name()
}

func (r *Rehearsal) nonProdSigning() cmdline.Signing {
	return cmdline.Signing{KeyFile: r.nonProd.Private}
}

func (r *Rehearsal) nonProdCreds(prefix string) []string {
	e := r.opts.Env
	return []string{prefix + "REGISTRY_USERNAME=" + e.NonProd.Username, prefix + "REGISTRY_PASSWORD=" + e.NonProd.Password}
}

func (r *Rehearsal) prodCreds(prefix string) []string {
	e := r.opts.Env
	return []string{prefix + "REGISTRY_USERNAME=" + e.Prod.Username, prefix + "REGISTRY_PASSWORD=" + e.Prod.Password}
}

// readRef reads a --ref-file and checks it is pinned to a digest.
func readRef(path string) (name.Digest, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return name.Digest{}, fmt.Errorf("read the returned reference: %w", err)
	}
	d, err := name.NewDigest(strings.TrimSpace(string(data)), name.Insecure)
	if err != nil {
		return name.Digest{}, fmt.Errorf("the returned reference %q is not pinned to a digest: %w", strings.TrimSpace(string(data)), err)
	}
	return d, nil
}

// Publish pushes the image to the non-production registry tagged with the
// revision (and extraTags), signed with the non-production key, as the
// module's publish does, and returns the digest reference it printed.
func (r *Rehearsal) Publish(ctx context.Context, svc *Service, img Image, extraTags ...string) (string, error) {
	var ref string
	_, err := r.record(svc, "publish", func(s *Stage) error {
		refFile := filepath.Join(filepath.Dir(img.Layout), "publish.ref")
		args, err := cmdline.PublishArgs(r.release, cmdline.PublishOptions{
			Layout: img.Layout, Repository: r.NonProdRepository(svc), Tags: append([]string{r.opts.Revision}, extraTags...),
			Signing: r.nonProdSigning(), PlainHTTP: true, RefFile: refFile,
		})
		if err != nil {
			return err
		}
		env := commandEnv(append(r.nonProdCreds(""), "COSIGN_PASSWORD="+r.nonProd.password)...)
		if _, err := r.exec(ctx, "publish", env, args[0], args[1:]...); err != nil {
			return err
		}
		d, err := readRef(refFile)
		if err != nil {
			return err
		}
		ref, s.Ref, s.Digest = d.String(), d.String(), d.DigestStr()
		if img.Digest != "" && d.DigestStr() != img.Digest {
			return fmt.Errorf("published digest %s differs from the built image's %s", d.DigestStr(), img.Digest)
		}
		return nil
	})
	return ref, err
}

// Deploy runs `deploy apply` for the environment (env.Staging or
// env.Production) with its namespace's kubeconfig, as the module's deploy
// does (rollback on). It returns deploy's summary also when the rollout
// failed (Outcome rolled-back or failed, with a non-nil error), as read from
// its --summary-file.
func (r *Rehearsal) Deploy(ctx context.Context, svc *Service, environment, ref string) (deploy.Summary, error) {
	var res deploy.Summary
	_, err := r.record(svc, "deploy "+environment, func(s *Stage) error {
		d, err := name.NewDigest(ref, name.Insecure)
		if err != nil {
			return fmt.Errorf("--image %q is not pinned to a digest: %w", ref, err)
		}
		s.Digest, s.Ref = d.DigestStr(), ref
		kubeconfig := r.opts.Env.Kubeconfig(environment)
		if kubeconfig == "" {
			return fmt.Errorf("no kubeconfig for environment %q", environment)
		}
		overlay, err := svc.Settings.Overlay("environment", environment)
		if err != nil {
			return err
		}
		if want := path.Join(svc.Settings.Manifests, "overlays", environment); overlay != want {
			return fmt.Errorf("service %s: %s overlays.%s is %s: deploy renders MANIFESTS/overlays/ENVIRONMENT (%s)", svc.Name(), settings.FileName, environment, overlay, want)
		}
		summaryFile := filepath.Join(r.dir, fmt.Sprintf("deploy-%s-%s-%d.json", svc.Name(), environment, time.Now().UnixNano()))
		o := cmdline.DeployOptions{Kubeconfig: kubeconfig, Manifests: svc.ManifestsDir(), Environment: environment,
			Image: ref, Timeout: r.rolloutTimeout(), Rollback: true, SummaryFile: summaryFile}
		if environment == env.Production {
			o.Components = productionComponents(svc)
			o.Canary = r.opts.ProductionCanary
			// Production's canary is judged by production's own traffic:
			// the rehearsal makes some (no Service yet on the first deploy,
			// and then there is no canary either).
			if url, err := r.ServiceURL(ctx, svc, environment); err == nil {
				tr := startTraffic(ctx, url)
				defer func() {
					n, failed := tr.stop()
					r.log.InfoContext(ctx, "synthetic production traffic during the deploy", "service", svc.Name(), "requests", n, "failed", failed)
				}()
			}
		}
		args, err := cmdline.DeployArgs(r.deploy, o)
		if err != nil {
			return err
		}
		_, runErr := r.exec(ctx, "deploy "+environment, commandEnv(), args[0], args[1:]...)
		if data, err := os.ReadFile(filepath.Clean(summaryFile)); err == nil {
			if err := json.Unmarshal(data, &res); err != nil {
				return errors.Join(runErr, fmt.Errorf("read deploy's summary: %w", err))
			}
			s.Detail = string(res.Outcome)
			if res.Outcome == deploy.RolledBack {
				s.Detail += " to " + short(digestOf(res.PreviousImage))
			}
		}
		return runErr
	})
	return res, err
}

func (r *Rehearsal) rolloutTimeout() string {
	d, err := time.ParseDuration(r.opts.RolloutTimeout)
	if err != nil {
		return r.opts.RolloutTimeout
	}
	return d.String()
}

// AcceptanceResult is the outcome of the acceptance suite.
type AcceptanceResult struct {
	// JUnit is the suite's report.
	JUnit string
	// Suite summarises it (tests, failures, errors).
	Suite acceptance.Suite
	// BaseURL is the staging Service the suite ran against.
	BaseURL string
}

// Acceptance runs the service's acceptance suite the way the module's
// acceptance-test does (`check acceptance` with the service's settings: its
// acceptance packages and tag, in its Go module, BASE_URL set) against its
// staging Service,
// after checking that staging runs exactly ref's digest. It fails when the
// suite fails; the result is returned either way.
func (r *Rehearsal) Acceptance(ctx context.Context, svc *Service, ref string) (AcceptanceResult, error) {
	var res AcceptanceResult
	_, err := r.record(svc, "acceptance staging", func(s *Stage) error {
		d, err := name.NewDigest(ref, name.Insecure)
		if err != nil {
			return fmt.Errorf("image %q is not pinned to a digest: %w", ref, err)
		}
		s.Digest = d.DigestStr()
		running, err := r.RunningDigests(ctx, svc, env.Staging)
		if err != nil {
			return err
		}
		if len(running) != 1 || running[0] != d.DigestStr() {
			return fmt.Errorf("staging runs %v, not %s: refusing to test something else", running, d.DigestStr())
		}
		res.BaseURL, err = r.ServiceURL(ctx, svc, env.Staging)
		if err != nil {
			return err
		}
		s.Ref = res.BaseURL
		reports, err := os.MkdirTemp(r.dir, "acceptance-")
		if err != nil {
			return fmt.Errorf("create report directory: %w", err)
		}
		res.JUnit = filepath.Join(reports, "acceptance.xml")
		args, err := cmdline.CheckArgs(r.check, cmdline.CheckOptions{Stage: "acceptance", Settings: svc.SettingsFile,
			Source: svc.Dir, Reports: reports, ToolsModfile: filepath.Join(r.root, "hack", "tools", "go.mod")})
		if err != nil {
			return err
		}
		_, runErr := r.exec(ctx, "acceptance", goEnv(map[string]string{"BASE_URL": res.BaseURL}), args[0], args[1:]...)
		f, err := os.Open(filepath.Clean(res.JUnit))
		if err != nil {
			return errors.Join(runErr, fmt.Errorf("the suite wrote no JUnit report: %w", err))
		}
		defer func() { _ = f.Close() }()
		suite, err := acceptance.FromJUnit(f)
		if suite == nil { // a failing report still gives its summary
			return errors.Join(runErr, fmt.Errorf("read the JUnit report: %w", err))
		}
		res.Suite = *suite
		s.Detail = fmt.Sprintf("%d tests, %d failed", suite.Tests, suite.Failures+suite.Errors)
		if runErr != nil {
			return fmt.Errorf("the acceptance suite failed (%d of %d tests): %w", suite.Failures+suite.Errors, suite.Tests, runErr)
		}
		if suite.Tests == 0 {
			return errors.New("the acceptance suite ran no test")
		}
		return nil
	})
	return res, err
}

// Attest records that ref passed acceptance in staging: `release
// attest-acceptance` signed with the non-production key, with the suite's
// JUnit report, as the module's acceptance-test does after a passing suite.
func (r *Rehearsal) Attest(ctx context.Context, svc *Service, ref string, res AcceptanceResult) error {
	_, err := r.record(svc, "attest acceptance", func(s *Stage) error {
		d, err := name.NewDigest(ref, name.Insecure)
		if err != nil {
			return fmt.Errorf("--image %q is not pinned to a digest: %w", ref, err)
		}
		s.Digest, s.Ref = d.DigestStr(), ref
		args, err := cmdline.AttestArgs(r.release, ref, env.Staging, r.nonProdSigning(), res.JUnit, true)
		if err != nil {
			return err
		}
		envv := commandEnv(append(r.nonProdCreds(""), "COSIGN_PASSWORD="+r.nonProd.password)...)
		_, err = r.exec(ctx, "attest", envv, args[0], args[1:]...)
		return err
	})
	return err
}

// Promote runs `release promote` from the non-production reference to the
// production repository (non-production signature and acceptance record
// verified, copy by digest, production signature), as the module's promote
// does, and returns the production reference it wrote. Like the module, it
// fails when the production digest differs from the source's.
func (r *Rehearsal) Promote(ctx context.Context, svc *Service, from string) (string, error) {
	var prod string
	_, err := r.record(svc, "promote", func(s *Stage) error {
		s.Ref = from
		if d, err := name.NewDigest(from, name.Insecure); err == nil {
			s.Digest = d.DigestStr()
		}
		dir, err := os.MkdirTemp(r.dir, "promote-")
		if err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
		refFile, recordFile := filepath.Join(dir, "ref"), filepath.Join(dir, "promotion.json")
		args, err := cmdline.PromoteArgs(r.release, cmdline.PromoteOptions{From: from, To: r.ProdRepository(svc),
			SourcePublicKey: r.nonProd.Public, Signing: cmdline.Signing{KeyFile: r.prod.Private}, PlainHTTP: true,
			RecordFile: recordFile, RefFile: refFile})
		if err != nil {
			return err
		}
		envv := commandEnv(append(append(r.nonProdCreds(""), r.prodCreds("TARGET_")...), "COSIGN_PASSWORD="+r.prod.password)...)
		if _, err := r.exec(ctx, "promote", envv, args[0], args[1:]...); err != nil {
			return err
		}
		d, err := readRef(refFile)
		if err != nil {
			return err
		}
		if d.DigestStr() != s.Digest {
			return fmt.Errorf("promote returned %s whose digest differs from %s: the image was not copied by digest", d, from)
		}
		prod, s.Ref = d.String(), d.String()
		return nil
	})
	return prod, err
}

// VerifyProduction reads the digest production's pods run, checks that it is
// want's, and verifies the production signature on that digest with
// `release verify` and the production public key.
func (r *Rehearsal) VerifyProduction(ctx context.Context, svc *Service, want string) error {
	_, err := r.record(svc, "verify production", func(s *Stage) error {
		wd, err := name.NewDigest(want, name.Insecure)
		if err != nil {
			return fmt.Errorf("%q is not pinned to a digest: %w", want, err)
		}
		running, err := r.RunningDigests(ctx, svc, env.Production)
		if err != nil {
			return err
		}
		if len(running) != 1 {
			return fmt.Errorf("production runs %d digests %v, want exactly %s", len(running), running, wd.DigestStr())
		}
		if running[0] != wd.DigestStr() {
			return fmt.Errorf("production runs %s, not the promoted %s", running[0], wd.DigestStr())
		}
		ref := r.ProdRepository(svc) + "@" + running[0]
		s.Digest, s.Ref = running[0], ref
		args, err := cmdline.VerifyArgs(r.release, ref, r.prod.Public, "", true)
		if err != nil {
			return err
		}
		_, err = r.exec(ctx, "verify", commandEnv(r.prodCreds("")...), args[0], args[1:]...)
		if err == nil {
			s.Detail = "production signature verified on the running digest"
		}
		return err
	})
	return err
}

// Release is the outcome of a full run of the release path.
type Release struct {
	// NonProd is the reference publish returned.
	NonProd string
	// Acceptance is the suite's result in staging.
	Acceptance AcceptanceResult
	// Prod is the reference promote returned.
	Prod string
	// Staging and Production are what deploy reported.
	Staging, Production deploy.Summary
}

// Run runs the whole release path for a build: build, publish, deploy
// staging, acceptance, attest, promote, deploy production, verify. It stops
// at the first failing stage, as the pipeline does; what ran is in Stages.
func (r *Rehearsal) Run(ctx context.Context, svc *Service, o BuildOptions) (Release, error) {
	var rel Release
	img, err := r.Build(ctx, svc, o)
	if err != nil {
		return rel, err
	}
	if rel.NonProd, err = r.Publish(ctx, svc, img); err != nil {
		return rel, err
	}
	if rel.Staging, err = r.Deploy(ctx, svc, env.Staging, rel.NonProd); err != nil {
		return rel, err
	}
	if rel.Acceptance, err = r.Acceptance(ctx, svc, rel.NonProd); err != nil {
		return rel, err
	}
	if err := r.Attest(ctx, svc, rel.NonProd, rel.Acceptance); err != nil {
		return rel, err
	}
	if rel.Prod, err = r.Promote(ctx, svc, rel.NonProd); err != nil {
		return rel, err
	}
	if rel.Production, err = r.Deploy(ctx, svc, env.Production, rel.Prod); err != nil {
		return rel, err
	}
	if err := r.VerifyProduction(ctx, svc, rel.Prod); err != nil {
		return rel, err
	}
	return rel, nil
}
