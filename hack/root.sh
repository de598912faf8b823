# Sourced by hack/test.sh and hack/rehearse.sh: run the calling script as
# root. As root nothing happens (containers and CI images often have no
# sudo); otherwise the script runs again under sudo, keeping the Go
# environment and the variables the tests read; without sudo it stops with
# what to do.
#
#   as_root WHY "$0" "$@"
as_root() {
  local why=$1 script=$2
  shift 2
  [ "$(id -u)" -eq 0 ] && return 0
  if ! command -v sudo >/dev/null; then
    echo "$(basename "$script") needs root ($why) and sudo is not installed: run it as root (for example: su -c '$script $*')" >&2
    exit 1
  fi
  local keep=("PATH=$PATH") v
  for v in GOTOOLCHAIN GOPATH GOMODCACHE GOCACHE GOFLAGS GOPROXY GONOSUMDB GOPRIVATE GO_AKS_PIPELINE_CACHE \
    REPORT_DIR CLUSTER_LOG_DIR GOVULNDB BASE_URL CI \
    TEST_DB_HOST TEST_DB_PORT TEST_DB_NAME TEST_DB_USER TEST_DB_PASSWORD TEST_DB_SSLMODE; do
    [ -n "${!v+x}" ] && keep+=("$v=${!v}")
  done
  echo "$(basename "$script") needs root ($why): running it again with sudo" >&2
  exec sudo env "${keep[@]}" bash "$script" "$@"
}
