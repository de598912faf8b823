#!/usr/bin/env bash
# Builds an offline Go vulnerability database from the golang.org/x/vulndb
# module pinned in hack/tools/go.mod and prints its file:// URL, for
# govulncheck -db where the online database is out of reach. The result is
# cached per vulndb version; a second call returns at once.
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"

version=$(cd "$tools" && go list -m -f '{{.Version}}' golang.org/x/vulndb)
cache="${GO_AKS_PIPELINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/go-aks-pipeline}/vulndb/$version"
if [ -f "$cache/index/db.json" ]; then
  echo "file://$cache"
  exit 0
fi

src=$(cd "$tools" && go mod download -json golang.org/x/vulndb | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# gendb reads the reports from a git repository, so give it one.
cp -r "$src/data" "$work/data"
chmod -R u+w "$work"
git -C "$work" init -q
git -C "$work" add data
git -C "$work" -c user.name=vulndb -c user.email=vulndb@localhost commit -qm "vulndb $version"
(cd "$tools" && go build -o "$work/gendb" golang.org/x/vulndb/cmd/gendb)
mkdir -p "$(dirname "$cache")"
"$work/gendb" -repo "$work" -out "$work/db" >&2
rm -rf "$cache"
mv "$work/db" "$cache"
echo "file://$cache"
