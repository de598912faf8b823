// Command release assembles, publishes, attests, verifies and promotes the
// service's container image. The Dagger functions run it in their
// containers; the release rehearsal and the tests run it directly.
//
//	release image             --binary linux/amd64=PATH [--binary linux/arm64=PATH] --source URL --revision SHA --created RFC3339 --out DIR
//	release publish           --layout DIR --repository REGISTRY/REPO [--tag T ...] (--key FILE | --kms-key URI) [--plain-http] [--ref-file FILE]
//	release attest-acceptance --image REF@sha256:... --environment staging (--key FILE | --kms-key URI) [--junit FILE]
//	release promote           --from REF@sha256:... --to REGISTRY/REPO --source-public-key FILE (--key FILE | --kms-key URI) [--record-file FILE]
//	release verify            --image REF@sha256:... --public-key FILE
//	release generate-key-pair --out-dir DIR
//
// Secrets come from the environment, never from flags: REGISTRY_USERNAME and
// REGISTRY_PASSWORD (the registry of --repository/--image/--from),
// TARGET_REGISTRY_USERNAME and TARGET_REGISTRY_PASSWORD (the registry of
// promote's --to), COSIGN_PASSWORD (the password of the --key file).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "release:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `usage: release COMMAND [flags]

commands:
  image              assemble the multi-platform image (OCI layout) from static binaries
  publish            push the image, tag it, sign its digest, attach a signed SBOM; prints REGISTRY/REPO@sha256:...
  attest-acceptance  record (signed attestation) that the digest passed the acceptance suite
  promote            verify, copy by digest to production with signatures/attestations, sign for production
  verify             verify an image's signature (and optionally its acceptance record)
  generate-key-pair  write a cosign key pair (cosign.key encrypted with COSIGN_PASSWORD, cosign.pub)

run "release COMMAND -h" for the flags of a command.
environment: REGISTRY_USERNAME, REGISTRY_PASSWORD, TARGET_REGISTRY_USERNAME, TARGET_REGISTRY_PASSWORD, COSIGN_PASSWORD
`

// run is main without the process: tests call it with their own streams and
// environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv, log: log}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "image":
		return e.image(ctx, rest)
	case "publish":
		return e.publish(ctx, rest)
	case "attest-acceptance":
		return e.attestAcceptance(ctx, rest)
	case "promote":
		return e.promote(ctx, rest)
	case "verify":
		return e.verify(ctx, rest)
	case "generate-key-pair":
		return e.generateKeyPair(ctx, rest)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "release: unknown command %q\n%s", cmd, usage)
	return errUsage
}

type env struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	log    *slog.Logger
}
