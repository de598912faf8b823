#!/usr/bin/env bash
# Rehearses a release on this machine, with no Azure account and no Dagger
# engine: installs what it needs, then runs cmd/rehearse (flags pass through,
# e.g. -fault acceptance, -keep, -v, -service DIR to release another service;
# by default this repository and the greeter fixture). Needs Linux and root:
# run by another user, it runs itself again with sudo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=hack/root.sh
. hack/root.sh
as_root "the local Kubernetes cluster and the Debian packages" "$root/hack/rehearse.sh" "$@"
# shellcheck source=hack/deps.sh
. hack/deps.sh
install_deps
echo "rehearsing a release; a first run on a fresh two-core machine takes about 12 minutes, 8 of them building Kubernetes from source once (cached afterwards, progress is logged)" >&2
exec go run ./cmd/rehearse "$@"
