#!/usr/bin/env bash
# The wgpolicyk8s.io/v1alpha2 report API served by a kube-apiserver through
# API aggregation (an APIService), with no wgpolicyk8s CRDs on that server:
# the layout of Kyverno's reports-server, for polscan's cluster tests.
# Loopback only: every process listens on 127.0.0.1.
#
#   scripts/aggregated.sh start <dir>  start etcd, a FRONT kube-apiserver (RBAC,
#                                      aggregation) and a BACKEND kube-apiserver
#                                      (the report CRDs from deploy/crds,
#                                      AlwaysAllow); register the backend on the
#                                      front as APIService v1alpha2.wgpolicyk8s.io
#                                      and wait until it is Available and the front
#                                      serves its discovery. Prints the front's
#                                      admin kubeconfig path.
#   scripts/aggregated.sh down <dir>   stop the backend only (reports-server down);
#                                      returns once the front answers the group's
#                                      discovery with an error
#   scripts/aggregated.sh up <dir>     start the backend again and wait until the
#                                      APIService is Available again
#   scripts/aggregated.sh stop <dir>   stop everything and remove <dir>
#
# How the front reaches the backend: an ExternalName Service
# (externalName: localhost) named by the APIService with the backend's port.
# Without --enable-aggregator-routing the front resolves an APIService's
# service with k8s.io/apiserver/pkg/util/proxy.ResolveCluster, which turns an
# ExternalName service into https://<externalName>:<APIService port>; no
# ClusterIP, kube-proxy or Endpoints are involved (Endpoints refuse loopback
# addresses, a ClusterIP needs kube-proxy).
#
# Files in <dir>: kubeconfig (front, admin), kubeconfig-limited (front, user
# polscan-limited, no groups), backend/kubeconfig (backend, admin: the report
# CRDs and the stored reports live there), startup-seconds, *.log, *.pid.
#
# Binaries: as scripts/apiserver.sh finds them (KUBE_APISERVER / ETCD,
# KUBEBUILDER_ASSETS, the cache, or a build); it sits next to this script.
#
# Environment:
#   AGG_TIMEOUT              seconds to wait for the APIService to be Available (default 90)
#   AGG_EXTERNAL_NAME        the Service's externalName (default localhost; must reach
#                            127.0.0.1, where the backend listens)
#   AGG_BACKEND_NS_LIFECYCLE 1: keep the NamespaceLifecycle admission plugin on the
#                            backend (namespaced report writes then fail: the backend
#                            has none of the front's namespaces)
#   AGG_NAMESPACE            namespace of the Service on the front (default reports-server)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "$0")" && pwd)"
APISERVER_SH="${SCRIPT_DIR}/apiserver.sh"
CRD_DIR="$(cd "${SCRIPT_DIR}/.." && pwd)/deploy/crds"
AGG_TIMEOUT="${AGG_TIMEOUT:-90}"
AGG_NAMESPACE="${AGG_NAMESPACE:-reports-server}"
AGG_EXTERNAL_NAME="${AGG_EXTERNAL_NAME:-localhost}"
APISERVICE=v1alpha2.wgpolicyk8s.io

# apiserver.sh's functions: finding (or building) the binaries, free
# ports, kubeconfigs.
# shellcheck source=apiserver.sh
source "$APISERVER_SH"
log() { echo "aggregated.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- binaries ------------------------------------------------------------------

# kube-apiserver and etcd as apiserver.sh finds (or builds, once) them.
find_binaries() {
  APISERVER="$(find_apiserver)"
  ETCD_BIN="$(find_etcd)"
  command -v kubectl >/dev/null || apt_install kubernetes-client
  command -v openssl >/dev/null || apt_install openssl
  command -v curl >/dev/null || apt_install curl
  command -v python3 >/dev/null || apt_install python3
  local tool
  for tool in openssl curl python3 kubectl; do command -v "$tool" >/dev/null || die "${tool} not found"; done
}

# The externalName must lead to 127.0.0.1: the backend listens there only.
check_external_name() {
  case "$AGG_EXTERNAL_NAME" in
    127.0.0.1) return 0 ;;
  esac
  if ! getent ahostsv4 "$AGG_EXTERNAL_NAME" 2>/dev/null | grep -q '^127\.0\.0\.1 '; then
    die "${AGG_EXTERNAL_NAME} does not resolve to 127.0.0.1, where the backend listens (set AGG_EXTERNAL_NAME=127.0.0.1)"
  fi
}

# --- certificates -----------------------------------------------------------------

# The front-proxy CA (requestheader CA, trusted by both servers) and the
# front's proxy client certificate (CN front-proxy-client), signed by it;
# the service-account key pair both servers share.
make_certs() {
  local c=$1
  openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 30 -subj /CN=front-proxy-ca \
    -keyout "${c}/front-proxy-ca.key" -out "${c}/front-proxy-ca.crt" 2>/dev/null
  openssl req -new -nodes -newkey rsa:2048 -subj /CN=front-proxy-client \
    -keyout "${c}/front-proxy-client.key" -out "${c}/front-proxy-client.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' \
    >"${c}/client.ext"
  openssl x509 -req -sha256 -days 30 -in "${c}/front-proxy-client.csr" \
    -CA "${c}/front-proxy-ca.crt" -CAkey "${c}/front-proxy-ca.key" -CAcreateserial \
    -extfile "${c}/client.ext" -out "${c}/front-proxy-client.crt" 2>/dev/null
  openssl genrsa -out "${c}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${c}/sa.key" -pubout -out "${c}/sa.pub" 2>/dev/null
  printf '%s,admin,admin-uid,system:masters\n%s,polscan-limited,limited-uid\n' \
    "$(openssl rand -hex 16)" "$(openssl rand -hex 16)" >"${c}/tokens.csv"
}

admin_token() { cut -d, -f1 "$1/certs/tokens.csv" | head -1; }

# --- processes -----------------------------------------------------------------

wait_ready() { # name url token pidfile seconds
  local name=$1 url=$2 token=$3 pidfile=$4 seconds=$5 i
  for i in $(seq 1 $((seconds * 2))); do
    if curl -sfk --max-time 2 -H "Authorization: Bearer ${token}" "${url}/readyz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { log "${name} exited (see ${pidfile%.pid}.log)"; return 1; }
    sleep 0.5
  done
  log "${name} not ready after ${seconds}s (see ${pidfile%.pid}.log)"
  return 1
}

# Flags both servers share: storage, tokens, service accounts, and trust in
# the front's proxy certificate for the X-Remote-* identity headers.
common_flags() {
  local dir=$1 c="$1/certs"
  COMMON=(
    --etcd-servers "$(cat "${dir}/etcd-url")"
    --token-auth-file "${c}/tokens.csv"
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "${c}/sa.pub"
    --service-account-signing-key-file "${c}/sa.key" --service-cluster-ip-range 10.0.0.0/24
    --advertise-address 10.0.0.1 --allow-privileged=true
    --requestheader-client-ca-file "${c}/front-proxy-ca.crt"
    --requestheader-allowed-names front-proxy-client
    --requestheader-username-headers X-Remote-User
    --requestheader-group-headers X-Remote-Group
    --requestheader-extra-headers-prefix X-Remote-Extra-
  )
}

# The BACKEND, standing in for reports-server, on 127.0.0.1:<port>. The
# front authorizes every request before it proxies it, so the backend allows
# whatever arrives. It has its own store, so none of the front's namespaces:
# with NamespaceLifecycle on, every PolicyReport write would be refused with
# 404 namespaces "<ns>" not found (reports-server keeps reports in its own
# database and does not look namespaces up); AGG_BACKEND_NS_LIFECYCLE=1 keeps
# it on, to test that refusal.
launch_backend() {
  local dir=$1 port=$2
  common_flags "$dir"
  local disabled=ServiceAccount,NamespaceLifecycle
  [ "${AGG_BACKEND_NS_LIFECYCLE:-0}" = 1 ] && disabled=ServiceAccount
  "$(cat "${dir}/apiserver-bin")" "${COMMON[@]}" --etcd-prefix /backend --bind-address 127.0.0.1 --secure-port "$port" \
    --cert-dir "${dir}/backend/certs" --authorization-mode AlwaysAllow --disable-admission-plugins "$disabled" \
    >>"${dir}/backend.log" 2>&1 &
  echo $! >"${dir}/backend.pid"
  echo "$port" >"${dir}/backend-port"
  write_kubeconfig "${dir}/backend/kubeconfig" "https://127.0.0.1:${port}" admin "$(admin_token "$dir")"
}

# etcd (one store, prefixes /front and /backend) and both servers on fresh
# ports; 0 when both answer /readyz.
start_servers() {
  local dir=$1 etcd_port peer_port front_port backend_port
  read -r etcd_port peer_port front_port backend_port <<<"$(free_ports 4)"
  rm -rf "${dir}/etcd"; mkdir -p "${dir}/etcd"
  "$ETCD_BIN" --data-dir "${dir}/etcd" --listen-client-urls "http://127.0.0.1:${etcd_port}" \
    --advertise-client-urls "http://127.0.0.1:${etcd_port}" --listen-peer-urls "http://127.0.0.1:${peer_port}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" --initial-cluster "default=http://127.0.0.1:${peer_port}" \
    --unsafe-no-fsync >"${dir}/etcd.log" 2>&1 &
  echo $! >"${dir}/etcd.pid"
  echo "http://127.0.0.1:${etcd_port}" >"${dir}/etcd-url"

  common_flags "$dir"
  local c="${dir}/certs"
  # FRONT: RBAC; proxies wgpolicyk8s.io to the backend through the
  # ExternalName service (no --enable-aggregator-routing: that would look
  # for Endpoints).
  "$APISERVER" "${COMMON[@]}" --etcd-prefix /front --bind-address 127.0.0.1 --secure-port "$front_port" \
    --cert-dir "${dir}/front-certs" --authorization-mode RBAC --disable-admission-plugins ServiceAccount \
    --proxy-client-cert-file "${c}/front-proxy-client.crt" --proxy-client-key-file "${c}/front-proxy-client.key" \
    >"${dir}/front.log" 2>&1 &
  echo $! >"${dir}/front.pid"
  : >"${dir}/backend.log"
  launch_backend "$dir" "$backend_port"

  local token; token="$(admin_token "$dir")"
  wait_ready front "https://127.0.0.1:${front_port}" "$token" "${dir}/front.pid" 90 || return 1
  wait_ready backend "https://127.0.0.1:${backend_port}" "$token" "${dir}/backend.pid" 90 || return 1
  write_kubeconfig "${dir}/kubeconfig" "https://127.0.0.1:${front_port}" admin "$token"
  write_kubeconfig "${dir}/kubeconfig-limited" "https://127.0.0.1:${front_port}" polscan-limited \
    "$(sed -n 2p "${c}/tokens.csv" | cut -d, -f1)"
}

# The APIService's Available condition: "True <reason>: <message>", or "".
apiservice_status() {
  kubectl --kubeconfig "$1/kubeconfig" get apiservice "$APISERVICE" \
    -o jsonpath='{range .status.conditions[?(@.type=="Available")]}{.status} {.reason}: {.message}{end}' 2>/dev/null || true
}

# Waits until the APIService is Available and the front serves the group's
# discovery (what clients use). The availability controller re-checks a
# failed APIService with a backoff; an annotation change makes it check now.
wait_available() {
  local dir=$1 i status=""
  local front=(kubectl --kubeconfig "${dir}/kubeconfig")
  for i in $(seq 1 $((AGG_TIMEOUT * 2))); do
    status="$(apiservice_status "$dir")"
    case "$status" in True*) break ;; esac
    if [ $((i % 4)) = 1 ]; then
      "${front[@]}" annotate --overwrite apiservice "$APISERVICE" "polscan.test/poke=${i}" >/dev/null 2>&1 || true
    fi
    sleep 0.5
  done
  case "$status" in
    True*) ;;
    *) log "APIService ${APISERVICE} not Available after ${AGG_TIMEOUT}s: ${status:-no status} (logs in ${dir})"; return 1 ;;
  esac
  for i in $(seq 1 $((AGG_TIMEOUT * 2))); do
    if "${front[@]}" get --raw /apis/wgpolicyk8s.io/v1alpha2 2>/dev/null | grep -q '"ClusterPolicyReport"'; then
      return 0
    fi
    sleep 0.5
  done
  log "the front serves no wgpolicyk8s.io/v1alpha2 discovery after ${AGG_TIMEOUT}s (logs in ${dir})"
  return 1
}

# The report CRDs on the backend, the ExternalName Service and the
# APIService on the front.
register() {
  local dir=$1 port; port="$(cat "${dir}/backend-port")"
  local back=(kubectl --kubeconfig "${dir}/backend/kubeconfig")
  local front=(kubectl --kubeconfig "${dir}/kubeconfig")
  "${back[@]}" apply -f "${CRD_DIR}/wgpolicyk8s.io_policyreports.yaml" \
    -f "${CRD_DIR}/wgpolicyk8s.io_clusterpolicyreports.yaml" >"${dir}/register.log" 2>&1 \
    || { cat "${dir}/register.log" >&2; log "installing the report CRDs on the backend failed"; return 1; }
  "${back[@]}" wait --for condition=established --timeout 60s \
    crd/policyreports.wgpolicyk8s.io crd/clusterpolicyreports.wgpolicyk8s.io >>"${dir}/register.log" 2>&1 \
    || { cat "${dir}/register.log" >&2; log "the report CRDs were not established on the backend"; return 1; }

  "${front[@]}" apply -f - >>"${dir}/register.log" 2>&1 <<EOF || { cat "${dir}/register.log" >&2; log "registering the APIService on the front failed"; return 1; }
apiVersion: v1
kind: Namespace
metadata:
  name: ${AGG_NAMESPACE}
---
apiVersion: v1
kind: Service
metadata:
  name: reports-server
  namespace: ${AGG_NAMESPACE}
spec:
  type: ExternalName
  externalName: ${AGG_EXTERNAL_NAME}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: ${APISERVICE}
spec:
  group: wgpolicyk8s.io
  version: v1alpha2
  service:
    name: reports-server
    namespace: ${AGG_NAMESPACE}
    port: ${port}
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
EOF
  wait_available "$dir"
}

seconds_since() { python3 -c "import sys,time; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$1"; }

start() {
  local dir=$1
  [ -e "${dir}/front.pid" ] && die "${dir} already holds running servers; stop it first"
  local t0; t0="$(date +%s.%N)"
  find_binaries
  check_external_name
  local f
  for f in "${CRD_DIR}/wgpolicyk8s.io_policyreports.yaml" "${CRD_DIR}/wgpolicyk8s.io_clusterpolicyreports.yaml"; do
    [ -f "$f" ] || die "report CRD file ${f} not found"
  done
  mkdir -p "${dir}/certs" "${dir}/front-certs" "${dir}/backend/certs"
  dir="$(cd "$dir" && pwd)"
  echo "$APISERVER" >"${dir}/apiserver-bin"
  make_certs "${dir}/certs"

  local attempt ok=""
  for attempt in 1 2 3; do
    if start_servers "$dir"; then ok=1; break; fi
    log "attempt ${attempt} failed; retrying with other ports"
    stop_processes "$dir"
  done
  if [ -z "$ok" ]; then
    for f in front backend etcd; do log "--- ${f}.log"; tail -15 "${dir}/${f}.log" >&2 || true; done
    stop "$dir"
    die "the servers did not become ready"
  fi
  local servers; servers="$(seconds_since "$t0")"
  register "$dir" || { stop_processes "$dir"; die "start failed; servers stopped, logs kept in ${dir}"; }
  local total; total="$(seconds_since "$t0")"
  printf 'servers_ready %s\ntotal %s\n' "$servers" "$total" >"${dir}/startup-seconds"
  log "ready in ${total}s (servers ${servers}s; front $(grep -o 'https://[^ ]*' "${dir}/kubeconfig"), backend https://127.0.0.1:$(cat "${dir}/backend-port") as ${AGG_EXTERNAL_NAME})"
  echo "${dir}/kubeconfig"
}

running_dir() {
  local dir=$1
  [ -f "${dir}/front.pid" ] && kill -0 "$(cat "${dir}/front.pid")" 2>/dev/null \
    || die "${dir} holds no running front server (start it first)"
}

stop_pid() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# The backend stopped: the APIService stays registered and the front answers
# the group with 503 (Available turns False a few seconds later).
down() {
  local dir=$1 i
  running_dir "$dir"
  stop_pid "${dir}/backend.pid"
  for i in $(seq 1 40); do
    if ! kubectl --kubeconfig "${dir}/kubeconfig" get --raw /apis/wgpolicyk8s.io/v1alpha2 >/dev/null 2>&1; then
      log "backend stopped; the front fails wgpolicyk8s.io/v1alpha2 discovery (APIService: $(apiservice_status "$dir"))"
      return 0
    fi
    sleep 0.5
  done
  die "the backend is stopped but the front still serves wgpolicyk8s.io/v1alpha2 discovery"
}

# The backend started again on its port (another free port, and the
# APIService moved there, when that one is taken), then Available.
up() {
  local dir=$1 t0 attempt port
  t0="$(date +%s.%N)"
  running_dir "$dir"
  if [ -f "${dir}/backend.pid" ] && kill -0 "$(cat "${dir}/backend.pid")" 2>/dev/null; then
    log "the backend is running"
  else
    port="$(cat "${dir}/backend-port")"
    for attempt in 1 2 3; do
      launch_backend "$dir" "$port"
      if wait_ready backend "https://127.0.0.1:${port}" "$(admin_token "$dir")" "${dir}/backend.pid" 90; then break; fi
      stop_pid "${dir}/backend.pid"
      [ "$attempt" = 3 ] && { tail -15 "${dir}/backend.log" >&2; die "the backend did not become ready"; }
      port="$(free_ports 1)"
      log "attempt ${attempt} failed; retrying on port ${port}"
    done
    kubectl --kubeconfig "${dir}/kubeconfig" patch apiservice "$APISERVICE" --type merge \
      -p "{\"spec\":{\"service\":{\"port\":${port}}}}" >/dev/null \
      || die "moving APIService ${APISERVICE} to port ${port} failed"
  fi
  wait_available "$dir" || die "up failed (logs in ${dir})"
  log "backend up; APIService Available after $(seconds_since "$t0")s"
}

# TERM to all at once, then up to 5 s for them to exit, then KILL.
stop_processes() {
  local dir=$1 name pids=() pid
  for name in front backend etcd; do
    [ -f "${dir}/${name}.pid" ] || continue
    pid="$(cat "${dir}/${name}.pid")"
    kill "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "${dir}/${name}.pid"
  done
  for _ in $(seq 1 50); do
    local alive=""
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -n "$alive" ] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
}

stop() {
  [ -d "$1" ] || return 0
  stop_processes "$1"
  rm -rf "$1"
}

case "${1:-}" in
  start) [ $# = 2 ] || die "usage: $0 start <dir>"; start "$2" ;;
  down) [ $# = 2 ] || die "usage: $0 down <dir>"; down "$2" ;;
  up) [ $# = 2 ] || die "usage: $0 up <dir>"; up "$2" ;;
  stop) [ $# = 2 ] || die "usage: $0 stop <dir>"; stop "$2" ;;
  *) die "usage: $0 start <dir> | down <dir> | up <dir> | stop <dir>" ;;
esac
