#!/usr/bin/env bash
# Rehearses a release on this machine, with no Azure account and no Dagger
# engine: installs what it needs, then runs cmd/rehearse (flags pass through,
# e.g. -fault acceptance, -keep, -v, -service DIR to release another service;
# by default this repository and the greeter fixture). Needs Linux and root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=hack/deps.sh
. hack/deps.sh
install_deps
exec go run ./cmd/rehearse "$@"
