#!/usr/bin/env bash
# A real kube-apiserver + etcd for polscan's cluster tests and benchmarks.
#
#   scripts/apiserver.sh build          build (once, cached) or locate the binaries
#   scripts/apiserver.sh start <dir>    start etcd + kube-apiserver on free loopback
#                                       ports; writes <dir>/kubeconfig (admin) and
#                                       <dir>/kubeconfig-limited (user polscan-limited,
#                                       no groups, for RBAC tests); prints the admin path
#   scripts/apiserver.sh stop <dir>     stop both and remove <dir>
#   scripts/apiserver.sh kill <dir> apiserver|etcd
#                                       SIGKILL one of them (fault injection); its data,
#                                       ports and certificates stay in <dir>
#   scripts/apiserver.sh restart <dir>  start whichever of the two is down, with the
#                                       same data directory, ports and flags; waits
#                                       until the API server answers /readyz
#
# Binaries, first found wins:
#   KUBE_APISERVER / ETCD            explicit paths
#   KUBEBUILDER_ASSETS               an envtest directory holding kube-apiserver and etcd
#   the cache ($POLSCAN_CACHE_DIR, default ~/.cache/polscan)
#   otherwise kube-apiserver 1.20.2 is built from Debian bookworm's `kubernetes`
#   source package (no Docker needed) and etcd comes from Debian's etcd-server.
# It is an API server only: no controllers, scheduler or kubelet, so objects are
# stored and listed exactly as written.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE_DIR="${POLSCAN_CACHE_DIR:-${HOME}/.cache/polscan}"
CACHED_APISERVER="${CACHE_DIR}/kube-apiserver-v${K8S_VERSION}"

log() { echo "apiserver.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ "${#missing[@]}" = 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- locating binaries ------------------------------------------------------

find_etcd() {
  if [ -n "${ETCD:-}" ]; then echo "$ETCD"; return; fi
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "${KUBEBUILDER_ASSETS}/etcd" ]; then echo "${KUBEBUILDER_ASSETS}/etcd"; return; fi
  if ! command -v etcd >/dev/null; then apt_install etcd-server; fi
  command -v etcd
}

find_apiserver() {
  if [ -n "${KUBE_APISERVER:-}" ]; then echo "$KUBE_APISERVER"; return; fi
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "${KUBEBUILDER_ASSETS}/kube-apiserver" ]; then
    echo "${KUBEBUILDER_ASSETS}/kube-apiserver"; return
  fi
  if [ ! -x "$CACHED_APISERVER" ]; then build_apiserver; fi
  echo "$CACHED_APISERVER"
}

# --- building kube-apiserver from Debian's source package --------------------

enable_deb_src() {
  if apt-get indextargets 2>/dev/null | grep -q 'Identifier: Sources'; then return; fi
  log "adding a deb-src entry for bookworm"
  as_root tee /etc/apt/sources.list.d/polscan-deb-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  as_root apt-get update -qq
}

# Import paths of the packages below $1.. whose Go files carry a column-0
# `// +k8s:openapi-gen=` tag, relative to k8s.io/kubernetes.
openapi_packages() {
  grep -RlE --include='*.go' '^// \+k8s:openapi-gen=' "$@" 2>/dev/null \
    | xargs -r -n1 dirname | sort -u
}

join_imports() {
  local prefix=$1; shift
  sed "s|^|${prefix}/|" | paste -sd, -
}

build_apiserver() {
  apt_install golang-go golang-github-modern-go-reflect2-dev dpkg-dev
  enable_deb_src
  local work
  work="$(mktemp -d)"
  log "building kube-apiserver v${K8S_VERSION} from Debian's kubernetes source package in ${work} (about 4 minutes)"
  (
    set -euo pipefail
    cd "$work"
    apt-get source --download-only kubernetes >/dev/null
    dpkg-source -x kubernetes_*.dsc src >/dev/null
    export GOPATH="${work}/gopath" GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOCACHE="${work}/gocache"
    mkdir -p "${GOPATH}/src/k8s.io"
    mv src "${GOPATH}/src/k8s.io/kubernetes"
    cd "${GOPATH}/src/k8s.io/kubernetes"

    # reflect2 1.0.1 faults under Go >= 1.18 as soon as a custom resource is written.
    rm -rf vendor/github.com/modern-go/reflect2
    cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2

    go build -o "${work}/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    local base=k8s.io/kubernetes boiler=vendor/k8s.io/code-generator/hack/boilerplate.go.txt
    local apimachinery=vendor/k8s.io/apimachinery
    local common="${apimachinery}/pkg/apis/meta/v1
${apimachinery}/pkg/runtime
${apimachinery}/pkg/version"

    local all
    all="$(openapi_packages pkg cmd plugin vendor/ | grep -v -e '^vendor/k8s.io/code-generator' -e '^vendor/k8s.io/sample-apiserver')"
    "${work}/openapi-gen" -i "$(echo "$all" | join_imports "$base")" -p "${base}/pkg/generated/openapi" \
      -O zz_generated.openapi -h "$boiler" -r "${work}/report-1" -o "${GOPATH}/src" >/dev/null

    local aggregator
    aggregator="$( (echo "$common"; openapi_packages vendor/k8s.io/kube-aggregator/) | sort -u)"
    "${work}/openapi-gen" -i "$(echo "$aggregator" | join_imports "$base")" \
      -p "${base}/vendor/k8s.io/kube-aggregator/pkg/generated/openapi" \
      -O zz_generated.openapi -h "$boiler" -r "${work}/report-2" -o "${GOPATH}/src" >/dev/null

    local extensions
    extensions="$( (echo "$common"; echo vendor/k8s.io/api/autoscaling/v1; openapi_packages vendor/k8s.io/apiextensions-apiserver/) | sort -u)"
    "${work}/openapi-gen" -i "$(echo "$extensions" | join_imports "$base")" \
      -p "${base}/vendor/k8s.io/apiextensions-apiserver/pkg/generated/openapi" \
      -O zz_generated.openapi -h "$boiler" -r "${work}/report-3" -o "${GOPATH}/src" >/dev/null

    local pkg=k8s.io/kubernetes/vendor/k8s.io/component-base/version
    go build -ldflags "-s -w -X ${pkg}.gitVersion=v${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=20 -X ${pkg}.gitTreeState=clean" \
      -o "${work}/kube-apiserver" ./cmd/kube-apiserver
  )
  mkdir -p "$CACHE_DIR"
  mv "${work}/kube-apiserver" "$CACHED_APISERVER"
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  log "cached ${CACHED_APISERVER}"
}

# --- running ------------------------------------------------------------------

# N (default three) distinct free loopback ports. A port found free can
# still be taken by a parallel test before etcd or the apiserver binds it:
# start() retries with new ports when a server does not come up.
free_ports() {
  python3 -c '
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
for s in held:
    s.close()
' "${1:-3}"
}

write_kubeconfig() {
  local file=$1 server=$2 user=$3 token=$4
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: polscan-test
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: ${user}@polscan-test
  context:
    cluster: polscan-test
    user: ${user}
current-context: ${user}@polscan-test
EOF
}

start() {
  local dir=$1
  [ -e "${dir}/apiserver.pid" ] && die "${dir} already holds a running server; stop it first"
  local etcd apiserver
  etcd="$(find_etcd)"
  apiserver="$(find_apiserver)"
  command -v openssl >/dev/null || apt_install openssl
  command -v curl >/dev/null || apt_install curl
  command -v python3 >/dev/null || apt_install python3
  mkdir -p "${dir}/etcd" "${dir}/certs"
  dir="$(cd "$dir" && pwd)"

  local attempt
  for attempt in 1 2 3; do
    if start_once "$dir" "$etcd" "$apiserver"; then
      return 0
    fi
    echo "apiserver.sh: attempt ${attempt} failed; retrying with other ports" >&2
    stop_processes "$dir"
  done
  tail -20 "${dir}/apiserver.log" >&2 || true
  tail -5 "${dir}/etcd.log" >&2 || true
  stop "$dir"
  die "kube-apiserver did not become ready"
}

# One try at etcd + apiserver on fresh ports; prints the kubeconfig path
# and returns 0 when the server answers /readyz.
start_once() {
  local dir=$1 etcd=$2 apiserver=$3
  rm -rf "${dir}/etcd"; mkdir -p "${dir}/etcd"
  local etcd_port peer_port api_port
  read -r etcd_port peer_port api_port <<<"$(free_ports)"
  # Each command line is kept in <dir>/<name>.cmd for `restart`.
  local etcd_cmd=("$etcd" --data-dir "${dir}/etcd" --listen-client-urls "http://127.0.0.1:${etcd_port}"
    --advertise-client-urls "http://127.0.0.1:${etcd_port}" --listen-peer-urls "http://127.0.0.1:${peer_port}"
    --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" --initial-cluster "default=http://127.0.0.1:${peer_port}"
    --unsafe-no-fsync)
  printf '%q ' "${etcd_cmd[@]}" >"${dir}/etcd.cmd"
  launch_saved "$dir" etcd
  echo "http://127.0.0.1:${etcd_port}" >"${dir}/etcd-url"

  openssl genrsa -out "${dir}/certs/sa.key" 2048 2>/dev/null
  openssl rsa -in "${dir}/certs/sa.key" -pubout -out "${dir}/certs/sa.pub" 2>/dev/null
  local admin_token limited_token
  admin_token="$(openssl rand -hex 16)"; limited_token="$(openssl rand -hex 16)"
  printf '%s,admin,admin-uid,system:masters\n%s,polscan-limited,limited-uid\n' "$admin_token" "$limited_token" >"${dir}/tokens.csv"

  local apiserver_cmd=("$apiserver" --etcd-servers "http://127.0.0.1:${etcd_port}" --bind-address 127.0.0.1 --secure-port "$api_port"
    --cert-dir "${dir}/certs" --token-auth-file "${dir}/tokens.csv" --authorization-mode RBAC
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "${dir}/certs/sa.pub"
    --service-account-signing-key-file "${dir}/certs/sa.key" --service-cluster-ip-range 10.0.0.0/24
    --advertise-address 10.0.0.1 --allow-privileged=true --disable-admission-plugins ServiceAccount)
  printf '%q ' "${apiserver_cmd[@]}" >"${dir}/apiserver.cmd"
  launch_saved "$dir" apiserver

  local server="https://127.0.0.1:${api_port}"
  echo "$server" >"${dir}/server-url"
  wait_apiserver_ready "$dir" || return 1
  write_kubeconfig "${dir}/kubeconfig" "$server" admin "$admin_token"
  write_kubeconfig "${dir}/kubeconfig-limited" "$server" polscan-limited "$limited_token"
  echo "${dir}/kubeconfig"
}

# Starts <dir>/<name>.cmd in the background, its output appended to
# <dir>/<name>.log and its pid in <dir>/<name>.pid.
launch_saved() {
  local dir=$1 name=$2
  eval "$(cat "${dir}/${name}.cmd")" '>>"${dir}/${name}.log" 2>&1 &'
  echo $! >"${dir}/${name}.pid"
}

# Waits (up to a minute) until the API server in <dir> answers /readyz as admin.
wait_apiserver_ready() {
  local dir=$1 server token
  server="$(cat "${dir}/server-url")"
  token="$(head -1 "${dir}/tokens.csv" | cut -d, -f1)"
  for _ in $(seq 1 120); do
    if curl -sfk --max-time 2 -H "Authorization: Bearer ${token}" "${server}/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "${dir}/apiserver.pid")" 2>/dev/null; then return 1; fi
    sleep 0.5
  done
  return 1
}

process_running() {
  local pidfile="${1}/${2}.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# SIGKILL, as a crash or an OOM kill would: nothing is flushed or closed.
kill_one() {
  local dir=$1 name=$2
  case "$name" in apiserver|etcd) ;; *) die "kill: expected apiserver or etcd, not ${name}" ;; esac
  [ -f "${dir}/${name}.cmd" ] || die "${dir} holds no server started by this script"
  if process_running "$dir" "$name"; then
    local pid
    pid="$(cat "${dir}/${name}.pid")"
    kill -9 "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "${dir}/${name}.pid"
}

restart() {
  local dir=$1
  [ -f "${dir}/apiserver.cmd" ] || die "${dir} holds no server started by this script"
  local name
  for name in etcd apiserver; do
    process_running "$dir" "$name" || launch_saved "$dir" "$name"
  done
  wait_apiserver_ready "$dir" || { tail -20 "${dir}/apiserver.log" >&2; die "kube-apiserver did not become ready again"; }
}

stop() {
  stop_processes "$1"
  rm -rf "$1"
}

stop_processes() {
  local dir=$1
  for name in apiserver etcd; do
    if [ -f "${dir}/${name}.pid" ]; then
      local pid
      pid="$(cat "${dir}/${name}.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "${dir}/${name}.pid"
    fi
  done
}

# Sourced (by scripts/aggregated.sh) it only defines the functions.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
  build)
    find_etcd >/dev/null
    find_apiserver
    # The tests drive the server with kubectl, as users do.
    command -v kubectl >/dev/null || apt_install kubernetes-client
    command -v curl >/dev/null || apt_install curl
    ;;
  start) [ $# = 2 ] || die "usage: $0 start <dir>"; start "$2" ;;
  stop) [ $# = 2 ] || die "usage: $0 stop <dir>"; stop "$2" ;;
  kill) [ $# = 3 ] || die "usage: $0 kill <dir> apiserver|etcd"; kill_one "$2" "$3" ;;
  restart) [ $# = 2 ] || die "usage: $0 restart <dir>"; restart "$2" ;;
  *) die "usage: $0 build | start <dir> | stop <dir> | kill <dir> apiserver|etcd | restart <dir>" ;;
esac
