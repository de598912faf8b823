#!/usr/bin/env bash
# This repository's local convenience for its checks. hack/test.sh (and so
# .ci/run) calls it. The checks themselves are defined once, in the check
# runner cmd/check, which the Dagger module's check functions run in their
# containers too; this script only runs it for each Go module here:
#
#   app/                        the orders service, described by pipeline.yaml
#                               (exactly what `dagger call ci` checks)
#   .                           the pipeline's tools (cmd/, internal/)
#   internal/testenv/postgres   the PostgreSQL test harness (its own module)
#   ci/                         the Dagger module (stage module; vuln)
#
#   hack/stage.sh STAGE...
#
# Stages:
#   lint         golangci-lint (pinned in hack/tools/go.mod; the module's own
#                .golangci.yml, or ci/golangci.default.yml)
#   vuln         govulncheck, gated by an allow-list (hack/vuln-allow.txt for
#                the tools); GOVULNDB=file:///... selects an offline database
#   unit         unit tests (no external services)
#   integration  integration tests (build tag integration): real PostgreSQL and
#                registries; TEST_DB_* selects an existing database
#   acceptance   acceptance suite (build tag acceptance) against BASE_URL, or
#                against a service and PostgreSQL it starts itself
#   module       the Dagger module: its unit tests, a type check against the
#                pinned dagger.io/dagger SDK and its wiring tests on a
#                recording engine stand-in (no engine needed)
#   cluster      deploy tests on a local Kubernetes cluster (root only)
#   e2e          the release path end to end (root only)
#
# Reports (JUnit XML, SARIF, lint and vulnerability reports) go to $REPORT_DIR
# (default out/reports): the service's at the top, the other modules' in
# root/, testenv-postgres/ and ci/.
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
reports="${REPORT_DIR:-$root/out/reports}"
mkdir -p "$reports"

tool() { go tool -modfile="$root/hack/tools/go.mod" "$@"; }

# check CHECK ARGS...: the check runner, with the tools pinned in hack/tools/go.mod.
check() {
  local name=$1
  shift
  go run ./cmd/check "$name" --source . --tools-modfile "$root/hack/tools/go.mod" \
    --default-lint-config "$root/ci/golangci.default.yml" "$@"
}

# each CHECK: CHECK for the service (pipeline.yaml), the tools' module and the test harness module.
each() {
  local name=$1 status=0
  check "$name" --settings pipeline.yaml --reports "$reports" || status=1
  check "$name" --module . --reports "$reports/root" --vuln-allow hack/vuln-allow.txt || status=1
  check "$name" --module internal/testenv/postgres --lint-config .golangci.yml --reports "$reports/testenv-postgres" || status=1
  return $status
}

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
  lint) each lint ;;
  vuln)
    local status=0
    each vuln || status=1
    # The Dagger module's packages (its main package needs generated code; the
    # type check covers it).
    check vuln --module ci --reports "$reports/ci" \
      --packages "./cmdline/... ./settings/... ./internal/... ./cmd/..." || status=1
    return $status
    ;;
  unit) each unit ;;
  integration) each integration ;;
  acceptance) check acceptance --settings pipeline.yaml --reports "$reports" ;;
  module)
    # The module's main package needs the code `dagger develop` generates (git-ignored),
    # so its plain packages are tested here and the whole module is type-checked
    # against the pinned dagger.io/dagger by cmd/typecheck, then linted.
    (cd ci && tool gotestsum --format "${GOTESTSUM_FORMAT:-testname}" \
      --junitfile "$reports/module.xml" -- -count=1 ./internal/... ./cmd/... ./cmdline/... ./settings/...)
    (cd ci && go run ./cmd/typecheck -lint -test)
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
