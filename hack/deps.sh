# Sourced by hack/test.sh and hack/rehearse.sh: the Go toolchain and the
# Debian packages the tests and the rehearsal need, installed when missing.
#
# PostgreSQL for the service's database; containerd, runc and the CNI plugins
# for the local Kubernetes node; iptables and conntrack for kube-proxy;
# iproute2 for the node's network namespace; git for the offline
# vulnerability database.
export GOTOOLCHAIN=go1.27.3
# sudo resets PATH; Go's standard install location is the fallback.
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"

deps_packages=(postgresql containerd runc containernetworking-plugins iptables conntrack iproute2 git ca-certificates)

# install_deps: apt-get install the missing packages (root only).
install_deps() {
  local missing=() p
  for p in "${deps_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run as root, or: apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
