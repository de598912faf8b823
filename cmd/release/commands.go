package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/go-aks/pipeline/internal/acceptance"
	"github.com/go-aks/pipeline/internal/imagebuild"
	"github.com/go-aks/pipeline/internal/imageref"
	"github.com/go-aks/pipeline/internal/promote"
	"github.com/go-aks/pipeline/internal/provenance"
	"github.com/go-aks/pipeline/internal/publish"
	"github.com/go-aks/pipeline/internal/regclient"
	"github.com/go-aks/pipeline/internal/signing"
)

// Environment variables holding secrets.
const (
	envUser       = "REGISTRY_USERNAME"
	envPass       = "REGISTRY_PASSWORD"
	envTargetUser = "TARGET_REGISTRY_USERNAME"
	envTargetPass = "TARGET_REGISTRY_PASSWORD"
	envKeyPass    = "COSIGN_PASSWORD" //nolint:gosec // the variable's name, not a secret
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("release "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags only)", fs.Name(), fs.Arg(0))
	}
	if afterParse != nil {
		return afterParse(fs)
	}
	return nil
}

// registryFlags are the connection settings shared by the commands.
type registryFlags struct {
	plainHTTP      bool
	retries        int
	retryInitial   time.Duration
	requestTimeout time.Duration
	timeout        time.Duration
}

func (r *registryFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&r.plainHTTP, "plain-http", false, "talk plain HTTP to the registries (loopback/test registries only)")
	fs.IntVar(&r.retries, "retries", regclient.DefaultBackoff.Steps, "attempts per registry request on 5xx, timeouts and dropped connections (never on 401/403 or trust failures)")
	fs.DurationVar(&r.retryInitial, "retry-initial", regclient.DefaultBackoff.Initial, "first backoff between attempts (doubles each time, at most 8s)")
	fs.DurationVar(&r.requestTimeout, "request-timeout", 30*time.Second, "timeout for a registry's response headers and for connecting")
	fs.DurationVar(&r.timeout, "timeout", 30*time.Minute, "overall time limit of the command; also bounds waiting for a registry's Retry-After on 429")
}

// withTimeout applies --timeout to ctx.
func (r *registryFlags) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.timeout)
}

func (r *registryFlags) client(creds regclient.Credentials, hint string, counter *regclient.Counter) (*regclient.Client, error) {
	if r.retries < 1 {
		return nil, fmt.Errorf("--retries %d: must be at least 1", r.retries)
	}
	return regclient.New(regclient.Options{
		Credentials:     creds,
		PlainHTTP:       r.plainHTTP,
		Backoff:         regclient.Backoff{Initial: r.retryInitial, Factor: 2, Max: 8 * time.Second, Steps: r.retries},
		RequestTimeout:  r.requestTimeout,
		CredentialsHint: hint,
		Counter:         counter,
	}), nil
}

// keyFlags select a signing key.
type keyFlags struct {
	key    string
	kmsKey string
}

func (k *keyFlags) add(fs *flag.FlagSet, what string) {
	fs.StringVar(&k.key, "key", "", what+": cosign private key file (encrypted; password in "+envKeyPass+"), or env://VAR holding the PEM")
	fs.StringVar(&k.kmsKey, "kms-key", "", what+": KMS key reference, e.g. azurekms://VAULT.vault.azure.net/KEY (Azure credentials from the environment)")
}

func (e *env) signer(ctx context.Context, k keyFlags) (*signing.Signer, error) {
	switch {
	case k.key != "" && k.kmsKey != "":
		return nil, errors.New("--key and --kms-key are both set: pass one")
	case k.kmsKey != "":
		if !signing.IsKMS(k.kmsKey) {
			return nil, fmt.Errorf("--kms-key %q is not a KMS reference: use azurekms://VAULT.vault.azure.net/KEY", k.kmsKey)
		}
		return signing.LoadSigner(ctx, "--kms-key", k.kmsKey, nil)
	case k.key != "":
		if signing.IsKMS(k.key) {
			return signing.LoadSigner(ctx, "--key", k.key, nil)
		}
		pemBytes, err := e.readSecretRef("--key", k.key)
		if err != nil {
			return nil, err
		}
		return signing.SignerFromPEM("--key", pemBytes, []byte(e.getenv(envKeyPass)))
	}
	return nil, errors.New("no signing key: pass --key FILE (password in " + envKeyPass + ") or --kms-key azurekms://VAULT.vault.azure.net/KEY")
}

func (e *env) verifier(ctx context.Context, flagName, ref string) (*signing.Verifier, error) {
	if ref == "" {
		return nil, fmt.Errorf("%s is required: pass the public key file (cosign.pub) or a KMS key reference", flagName)
	}
	if signing.IsKMS(ref) {
		return signing.LoadVerifier(ctx, flagName, ref)
	}
	pemBytes, err := e.readSecretRef(flagName, ref)
	if err != nil {
		return nil, err
	}
	return signing.VerifierFromPEM(flagName, pemBytes)
}

// readSecretRef reads a file, or env://VAR.
func (e *env) readSecretRef(flagName, ref string) ([]byte, error) {
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		data := e.getenv(v)
		if data == "" {
			return nil, fmt.Errorf("%s: environment variable %s is empty", flagName, v)
		}
		return []byte(data), nil
	}
	data, err := os.ReadFile(filepath.Clean(ref))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	return data, nil
}

// client returns a registry client with the credentials of the environment
// variables userVar and passVar (both unset: anonymous).
func (e *env) client(rf *registryFlags, userVar, passVar string, counter *regclient.Counter) (*regclient.Client, error) {
	creds, err := regclient.CredentialsFromEnv(e.getenv, userVar, passVar)
	if err != nil {
		return nil, err
	}
	return rf.client(creds, userVar+"/"+passVar, counter)
}

// writeOut writes data to path (0644), creating parent directories.
func writeOut(flagName, path string, data []byte) error {
	if path == "" {
		return nil
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil { //nolint:gosec // records and references are not secret
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return nil
}

func (e *env) image(ctx context.Context, args []string) error {
	fs := e.flags("image")
	var bins, labels, envs multi
	fs.Var(&bins, "binary", "PLATFORM=PATH of a static binary, e.g. linux/amd64=out/orders-amd64 (repeat per platform)")
	name := fs.String("name", "", "file name of the binary under /app (default: the base name of the first --binary path)")
	source := fs.String("source", "", "source repository URL (org.opencontainers.image.source)")
	revision := fs.String("revision", "", "git revision (org.opencontainers.image.revision)")
	created := fs.String("created", "", "creation time, RFC 3339 (e.g. the commit time); default $SOURCE_DATE_EPOCH or 1970-01-01")
	out := fs.String("out", "", "directory to write the OCI image layout to (new or empty)")
	user := fs.String("user", imagebuild.DefaultUser, "user:group the image runs as")
	fs.Var(&labels, "label", "extra KEY=VALUE label (repeatable)")
	fs.Var(&envs, "env", "KEY=VALUE environment variable of the image (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required: the directory to write the OCI layout to")
	}
	if len(bins) == 0 {
		return errors.New("--binary is required: pass PLATFORM=PATH, e.g. --binary linux/amd64=out/orders")
	}
	var list []imagebuild.Binary
	for _, b := range bins {
		p, path, ok := strings.Cut(b, "=")
		if !ok || path == "" {
			return fmt.Errorf("--binary %q: want PLATFORM=PATH, e.g. linux/amd64=out/orders", b)
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil || plat.OS == "" || plat.Architecture == "" {
			return fmt.Errorf("--binary %q: platform %q is not OS/ARCH[/VARIANT]", b, p)
		}
		n := *name
		if n == "" && len(list) == 0 {
			n = filepath.Base(path)
		} else if n == "" {
			n = list[0].Name
		}
		list = append(list, imagebuild.Binary{Platform: *plat, Path: path, Name: n})
	}
	t, err := createdTime(*created, e.getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	lbl := map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return fmt.Errorf("--label %q: want KEY=VALUE", l)
		}
		lbl[k] = v
	}
	idx, err := imagebuild.Index(ctx, list, imagebuild.Options{
		User: *user, Labels: lbl, Created: t, Env: envs, Source: *source, Revision: *revision,
	})
	if err != nil {
		return err
	}
	if err := imagebuild.WriteLayout(*out, idx, *revision); err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	e.log.InfoContext(ctx, "image assembled", "digest", d.String(), "platforms", len(list), "layout", *out)
	fmt.Fprintln(e.stdout, d.String())
	return nil
}

func createdTime(flagValue, sourceDateEpoch string) (time.Time, error) {
	if flagValue != "" {
		t, err := time.Parse(time.RFC3339, flagValue)
		if err != nil {
			return time.Time{}, fmt.Errorf("--created %q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z; git log -1 --format=%%cI): %w", flagValue, err)
		}
		return t, nil
	}
	if sourceDateEpoch != "" {
		s, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds: %w", sourceDateEpoch, err)
		}
		return time.Unix(s, 0).UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}

func (e *env) publish(ctx context.Context, args []string) error {
	fs := e.flags("publish")
	layoutDir := fs.String("layout", "", "OCI layout written by `release image`")
	repo := fs.String("repository", "", "REGISTRY/REPO to push to, e.g. nonprod.azurecr.io/orders")
	var tags multi
	fs.Var(&tags, "tag", "tag to set, e.g. the git revision (repeatable)")
	refFile := fs.String("ref-file", "", "also write the digest reference to this file")
	resultFile := fs.String("result-file", "", "write the JSON result (digest, tags, platforms, key identity) to this file")
	skipSBOM := fs.Bool("skip-sbom", false, "do not attach the SBOM attestation")
	skipProv := fs.Bool("skip-provenance", false, "do not attach the SLSA provenance attestation")
	builderID := fs.String("builder-id", provenance.DefaultBuilderID, "SLSA provenance builder id: the build platform, e.g. the pipeline's URL")
	srcRepo := fs.String("source-repository", "", "provenance source repository (default: the image's org.opencontainers.image.source)")
	srcRev := fs.String("source-revision", "", "provenance source revision (default: the image's org.opencontainers.image.revision)")
	invocation := fs.String("invocation-id", "", "provenance invocation id, e.g. the pipeline run's id or URL")
	var params, bases multi
	fs.Var(&params, "build-parameter", "provenance build parameter KEY=VALUE (repeatable)")
	fs.Var(&bases, "base-image", "provenance material: base image REGISTRY/REPO@sha256:... (repeatable)")
	var rf registryFlags
	rf.add(fs)
	var kf keyFlags
	kf.add(fs, "signing key")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := rf.withTimeout(ctx)
	defer cancel()
	paramMap := map[string]string{}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return fmt.Errorf("--build-parameter %q: want KEY=VALUE", p)
		}
		paramMap[k] = v
	}
	if *layoutDir == "" {
		return errors.New("--layout is required: the OCI layout directory written by `release image`")
	}
	signer, err := e.signer(ctx, kf)
	if err != nil {
		return err
	}
	client, err := e.client(&rf, envUser, envPass, nil)
	if err != nil {
		return err
	}
	r, err := imageref.Repository("--repository", *repo, client.NameOptions()...)
	if err != nil {
		return err
	}
	idx, err := imagebuild.ReadLayout(*layoutDir)
	if err != nil {
		return err
	}
	res, err := publish.Publish(ctx, publish.Options{
		Index: idx, Repository: r, Tags: tags, Registry: client, Signer: signer, SkipSBOM: *skipSBOM,
		SkipProvenance: *skipProv,
		Provenance: provenance.Inputs{
			BuilderID: *builderID, SourceRepository: *srcRepo, SourceRevision: *srcRev,
			Parameters: paramMap, BaseImages: bases, InvocationID: *invocation,
		},
	})
	if err != nil {
		return err
	}
	e.log.InfoContext(ctx, "published", "ref", res.Ref, "tags", res.Tags, "signed", res.Signed, "sbom", res.SBOMAttested, "provenance", res.ProvenanceAttested, "key", res.SignerKey)
	if err := writeOut("--ref-file", *refFile, []byte(res.Ref+"\n")); err != nil {
		return err
	}
	if *resultFile != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("encode result: %w", err)
		}
		if err := writeOut("--result-file", *resultFile, append(data, '\n')); err != nil {
			return err
		}
	}
	fmt.Fprintln(e.stdout, res.Ref)
	return nil
}

func (e *env) attestAcceptance(ctx context.Context, args []string) error {
	fs := e.flags("attest-acceptance")
	image := fs.String("image", "", "REGISTRY/REPO@sha256:... that passed the acceptance suite")
	environment := fs.String("environment", "", "environment the suite ran against, e.g. staging")
	junit := fs.String("junit", "", "JUnit XML report of the suite; failures or errors in it refuse the record")
	recordFile := fs.String("record-file", "", "write the acceptance record (JSON) to this file")
	var rf registryFlags
	rf.add(fs)
	var kf keyFlags
	kf.add(fs, "acceptance signing key")
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := e.client(&rf, envUser, envPass, nil)
	if err != nil {
		return err
	}
	d, err := imageref.Digest("--image", *image, client.NameOptions()...)
	if err != nil {
		return err
	}
	var suite *acceptance.Suite
	if *junit != "" {
		f, err := os.Open(filepath.Clean(*junit))
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
		suite, err = acceptance.FromJUnit(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("--junit %s: no acceptance record written: %w", *junit, err)
		}
	}
	rec, err := acceptance.New(*environment, d.String(), suite, time.Now())
	if err != nil {
		return err
	}
	signer, err := e.signer(ctx, kf)
	if err != nil {
		return err
	}
	pred, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode acceptance record: %w", err)
	}
	ro := signing.RegistryOptions{Remote: client.Remote(ctx), Name: client.NameOptions()}
	if _, err := remote.Head(d, ro.Remote...); err != nil {
		return client.Explain(err, "attest-acceptance: resolve "+d.String(), d.RegistryStr())
	}
	if _, err := signing.Attest(ctx, d, signer, acceptance.PredicateType, pred, ro, false); err != nil {
		return client.Explain(err, "attest-acceptance", d.RegistryStr())
	}
	e.log.InfoContext(ctx, "acceptance recorded", "image", d.String(), "environment", rec.Environment, "key", signer.Identity())
	out, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode acceptance record: %w", err)
	}
	if err := writeOut("--record-file", *recordFile, append(out, '\n')); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, string(out))
	return nil
}

func (e *env) promote(ctx context.Context, args []string) error {
	fs := e.flags("promote")
	from := fs.String("from", "", "non-production REGISTRY/REPO@sha256:... (a tag is refused)")
	to := fs.String("to", "", "production REGISTRY/REPO")
	srcPub := fs.String("source-public-key", "", "non-production public key (cosign.pub) the source signature must verify with")
	accPub := fs.String("acceptance-public-key", "", "public key of the acceptance record (default: --source-public-key)")
	accEnv := fs.String("acceptance-environment", "staging", "environment the acceptance record must name (empty: any)")
	allow := fs.Bool("allow-unaccepted", false, "promote without an acceptance record (break-glass; recorded)")
	allowNoSBOM := fs.Bool("allow-no-sbom", false, "promote without a valid SBOM attestation signed with --source-public-key (recorded)")
	allowNoProv := fs.Bool("allow-no-provenance", false, "promote without an SLSA provenance attestation signed with --source-public-key (recorded; not with --expect-*)")
	expBuilder := fs.String("expect-builder", "", "refuse unless the provenance's builder id is this (empty: not checked)")
	expRev := fs.String("expect-source-revision", "", "refuse unless the provenance's source revision is this, e.g. the commit being released (empty: not checked)")
	recordFile := fs.String("record-file", "", "write the promotion record (JSON) to this file")
	refFile := fs.String("ref-file", "", "also write the production reference to this file")
	var tags multi
	fs.Var(&tags, "tag", "tag to set in the production repository (repeatable, optional)")
	var rf registryFlags
	rf.add(fs)
	var kf keyFlags
	kf.add(fs, "production signing key")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := rf.withTimeout(ctx)
	defer cancel()
	srcClient, err := e.client(&rf, envUser, envPass, nil)
	if err != nil {
		return err
	}
	counter := &regclient.Counter{}
	dstClient, err := e.client(&rf, envTargetUser, envTargetPass, counter)
	if err != nil {
		return err
	}
	src, err := imageref.Digest("--from", *from, srcClient.NameOptions()...)
	if err != nil {
		return err
	}
	dst, err := imageref.Repository("--to", *to, dstClient.NameOptions()...)
	if err != nil {
		return err
	}
	srcKey, err := e.verifier(ctx, "--source-public-key", *srcPub)
	if err != nil {
		return err
	}
	accKey := srcKey
	if *accPub != "" {
		if accKey, err = e.verifier(ctx, "--acceptance-public-key", *accPub); err != nil {
			return err
		}
	}
	signer, err := e.signer(ctx, kf)
	if err != nil {
		return err
	}
	start := time.Now()
	rec, err := promote.Promote(ctx, promote.Options{
		From: src, To: dst, Source: srcClient, Target: dstClient,
		SourceKey: srcKey, AcceptanceKey: accKey, AcceptanceEnvironment: *accEnv,
		AllowUnaccepted: *allow, Signer: signer, Tags: tags,
		AllowNoSBOM: *allowNoSBOM, AllowNoProvenance: *allowNoProv, ExpectBuilder: *expBuilder, ExpectSourceRevision: *expRev,
	})
	if err != nil {
		return err
	}
	e.log.InfoContext(ctx, "promoted", "ref", rec.Destination, "alreadyPromoted", rec.AlreadyPromoted,
		"signedForProduction", rec.SignedForProduction, "bytesSentToTarget", counter.BytesSent.Load(),
		"blobUploads", counter.BlobUploads.Load(), "duration", time.Since(start).Round(time.Millisecond))
	for _, d := range rec.Dropped {
		e.log.WarnContext(ctx, "not promoted: attachment does not verify with a trusted key", "kind", d.Kind, "digest", d.Digest, "reason", d.Reason)
	}
	if rec.AllowedUnaccepted {
		e.log.WarnContext(ctx, "promoted WITHOUT an acceptance record (--allow-unaccepted)", "ref", rec.Destination)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encode promotion record: %w", err)
	}
	if err := writeOut("--record-file", *recordFile, append(data, '\n')); err != nil {
		return err
	}
	if err := writeOut("--ref-file", *refFile, []byte(rec.Destination+"\n")); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, rec.Destination)
	return nil
}

func (e *env) verify(ctx context.Context, args []string) error {
	fs := e.flags("verify")
	image := fs.String("image", "", "REGISTRY/REPO@sha256:... to verify")
	pub := fs.String("public-key", "", "public key (cosign.pub) or KMS reference the signature must verify with")
	requireAcc := fs.Bool("require-acceptance", false, "also require a passing acceptance record")
	accPub := fs.String("acceptance-public-key", "", "public key of the acceptance record (default: --public-key)")
	accEnv := fs.String("acceptance-environment", "staging", "environment the acceptance record must name")
	pubOut := fs.String("public-key-out", "", "after a successful verification, write the public key (PEM) to this file")
	var rf registryFlags
	rf.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	client, err := e.client(&rf, envUser, envPass, nil)
	if err != nil {
		return err
	}
	d, err := imageref.Digest("--image", *image, client.NameOptions()...)
	if err != nil {
		return err
	}
	key, err := e.verifier(ctx, "--public-key", *pub)
	if err != nil {
		return err
	}
	ro := signing.RegistryOptions{Remote: client.Remote(ctx), Name: client.NameOptions()}
	n, err := signing.VerifySignature(ctx, d, key, ro)
	if err != nil {
		if errors.Is(err, signing.ErrUntrusted) {
			return err
		}
		return client.Explain(err, "verify", d.RegistryStr())
	}
	result := map[string]any{"image": d.String(), "key": key.Identity(), "verifiedSignatures": n}
	if *pubOut != "" {
		pem, err := key.PublicKeyPEM()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Clean(*pubOut), pem, 0o644); err != nil { //nolint:gosec // a public key, meant to be read
			return fmt.Errorf("--public-key-out: %w", err)
		}
	}
	if *requireAcc {
		accKey := key
		if *accPub != "" {
			if accKey, err = e.verifier(ctx, "--acceptance-public-key", *accPub); err != nil {
				return err
			}
		}
		rec, err := promote.AcceptedRecord(ctx, d, accKey, *accEnv, ro)
		if err != nil {
			return err
		}
		result["acceptance"] = rec
	}
	out, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	fmt.Fprintln(e.stdout, string(out))
	return nil
}

func (e *env) generateKeyPair(ctx context.Context, args []string) error {
	fs := e.flags("generate-key-pair")
	dir := fs.String("out-dir", "", "directory to write cosign.key and cosign.pub to")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--out-dir is required")
	}
	pass := e.getenv(envKeyPass)
	if pass == "" {
		return errors.New(envKeyPass + " is empty: set the password that encrypts the private key")
	}
	priv, pub, err := signing.GenerateKeyPair([]byte(pass))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Clean(*dir), 0o750); err != nil {
		return fmt.Errorf("--out-dir: %w", err)
	}
	keyPath := filepath.Join(filepath.Clean(*dir), "cosign.key")
	if _, err := os.Stat(keyPath); err == nil {
		return fmt.Errorf("--out-dir: %s exists: refusing to overwrite a key", keyPath)
	}
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if err := writeOut("--out-dir", filepath.Join(filepath.Clean(*dir), "cosign.pub"), pub); err != nil {
		return err
	}
	e.log.InfoContext(ctx, "key pair written", "private", keyPath, "public", filepath.Join(*dir, "cosign.pub"))
	return nil
}
