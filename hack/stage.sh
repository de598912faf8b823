#!/usr/bin/env bash
# The one definition of what each check runs. hack/test.sh (and so .ci/run)
# calls it here; the Dagger module's stages call it inside their containers.
#
#   hack/stage.sh STAGE...
#
# Stages:
#   lint         golangci-lint (pinned in hack/tools/go.mod, config .golangci.yml)
#   vuln         govulncheck, gated by hack/vuln-allow.txt; GOVULNDB=file:///...
#                selects an offline database
#   unit         unit tests (no external services)
#   integration  integration tests (build tag integration): real PostgreSQL and
#                registries; TEST_DB_* selects an existing database
#   acceptance   acceptance suite (build tag acceptance) against BASE_URL, or
#                against a service and PostgreSQL it starts itself
#   module       the Dagger module: its unit tests and a type check against the
#                pinned dagger.io/dagger SDK (no engine needed)
#   cluster      deploy tests on a local Kubernetes cluster (root only)
#   e2e          the release path end to end (root only)
#
# Reports (JUnit XML, lint and vulnerability reports) go to $REPORT_DIR
# (default out/reports).
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
reports="${REPORT_DIR:-$root/out/reports}"
mkdir -p "$reports"

tool() { go tool -modfile="$root/hack/tools/go.mod" "$@"; }

# gotest NAME GO_TEST_ARGS...: go test through gotestsum, JUnit in $reports/NAME.xml.
gotest() {
  local name=$1
  shift
  tool gotestsum --format "${GOTESTSUM_FORMAT:-testname}" \
    --junitfile "$reports/$name.xml" --junitfile-testsuite-name relative \
    --jsonfile "$reports/$name.json" -- "$@"
}

stage() {
  case "$1" in
  lint)
    tool golangci-lint run --output.text.path stdout \
      --output.junit-xml.path "$reports/lint.xml" ./... | tee "$reports/lint.txt"
    ;;
  vuln)
    local db=()
    [ -n "${GOVULNDB:-}" ] && db=(-db "$GOVULNDB")
    # JSON for the gate (and as a report); the gate fails on any called
    # vulnerability not accepted, with a reason and a review date, in
    # hack/vuln-allow.txt.
    tool govulncheck "${db[@]}" -format json ./... >"$reports/vuln.json"
    go run ./hack/vulngate -allow hack/vuln-allow.txt <"$reports/vuln.json" | tee "$reports/vuln.txt"
    ;;
  unit) gotest unit -race -count=1 ./... ;;
  integration) gotest integration -tags integration -count=1 -p 1 ./... ;;
  acceptance) gotest acceptance -tags acceptance -count=1 ./app/acceptance/... ;;
  module)
    # The module's main package needs the code `dagger develop` generates (git-ignored),
    # so its plain packages are tested here and the whole module is type-checked
    # against the pinned dagger.io/dagger by cmd/typecheck, then linted.
    (cd ci && tool gotestsum --format "${GOTESTSUM_FORMAT:-testname}" \
      --junitfile "$reports/module.xml" -- -count=1 ./internal/... ./cmd/... ./cmdline/... ./settings/...)
    (cd ci && go run ./cmd/typecheck -lint)
    ;;
  cluster) gotest cluster -tags cluster -count=1 -p 1 -timeout 40m ./... ;;
  e2e) gotest e2e -tags e2e -count=1 -p 1 -timeout 40m ./... ;;
  *)
    echo "hack/stage.sh: unknown stage '$1' (lint, vuln, unit, integration, acceptance, module, cluster, e2e)" >&2
    return 2
    ;;
  esac
}

[ $# -gt 0 ] || { echo "usage: hack/stage.sh STAGE... (see the comment at the top)" >&2; exit 2; }
for s in "$@"; do
  echo "==> stage $s"
  stage "$s"
done
