#!/usr/bin/env bash
# Runs every check and test of the project on this machine, the way CI does:
# lint, vulnerability check, unit, Dagger module, integration, acceptance,
# cluster and end-to-end tests, against real PostgreSQL, registries and a
# local Kubernetes cluster. Installs what it needs first (Debian packages with
# apt-get, Go tools through the Go module proxy). Needs root (the cluster, the
# packages): run by another user, it runs itself again with sudo.
#
#   hack/test.sh            # everything
#   hack/test.sh unit lint  # only these stages (see hack/stage.sh)
#
# Reports land in out/reports (JUnit XML per stage, lint and vulnerability
# reports); a summary line closes the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export REPORT_DIR="${REPORT_DIR:-$root/out/reports}"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint vuln unit module integration acceptance cluster e2e)

# shellcheck source=hack/root.sh
. hack/root.sh
as_root "the local Kubernetes cluster and the Debian packages" "$root/hack/test.sh" "$@"

started=$(date +%s)
log() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }

# shellcheck source=hack/deps.sh
. hack/deps.sh
install_deps

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"

log "stages: ${stages[*]}; on a two-core machine all of them take about 19 minutes with warm caches, about 15 more from empty ones (Kubernetes and the tools are built from source once)"

for s in "${stages[@]}"; do
  if [ "$s" = vuln ] && [ -z "${GOVULNDB:-}" ]; then
    log "building the offline vulnerability database"
    GOVULNDB=$(hack/vulndb.sh)
    export GOVULNDB
  fi
done

status=0
failed=()
for s in "${stages[@]}"; do
  log "stage $s"
  if ! hack/stage.sh "$s"; then
    status=1
    failed+=("$s")
    log "stage $s FAILED"
  fi
done

log "done"
shopt -s nullglob
junit=("$REPORT_DIR"/*.xml "$REPORT_DIR"/*/*.xml)
[ ${#junit[@]} -eq 0 ] || go run ./hack/junitsum "${junit[@]}" || true
if [ $status -ne 0 ]; then
  echo "failed stages: ${failed[*]}" >&2
fi
exit $status
