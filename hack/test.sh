#!/usr/bin/env bash
# Runs every check and test of the project on this machine, the way CI does:
# lint, vulnerability check, unit, Dagger module, integration, acceptance,
# cluster and end-to-end tests, against real PostgreSQL, registries and a
# local Kubernetes cluster. Installs what it needs first (Debian packages with
# apt-get, Go tools through the Go module proxy). Needs root (the cluster).
#
#   sudo hack/test.sh            # everything
#   sudo hack/test.sh unit lint  # only these stages (see hack/stage.sh)
#
# Reports land in out/reports (JUnit XML per stage, lint and vulnerability
# reports); a summary line closes the run.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3
# sudo resets PATH; Go's standard install location is the fallback.
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export REPORT_DIR="${REPORT_DIR:-$root/out/reports}"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint vuln unit module integration acceptance cluster e2e)

started=$(date +%s)
log() { printf '[%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }

# Debian packages: PostgreSQL for the integration tests; containerd, runc and
# the CNI plugins for the local Kubernetes node; iptables and conntrack for
# kube-proxy; git for the offline vulnerability database.
packages=(postgresql containerd runc containernetworking-plugins iptables conntrack iproute2 git ca-certificates)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "hack/test.sh: missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"

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
go run ./hack/junitsum "$REPORT_DIR"/*.xml || true
if [ $status -ne 0 ]; then
  echo "failed stages: ${failed[*]}" >&2
fi
exit $status
