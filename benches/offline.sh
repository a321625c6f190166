#!/usr/bin/env bash
# Offline audit benchmark: polscan apply against checkov on the same files.
#
#   bash benches/offline.sh [N]      (N manifests, default 10000)
#
# Generates N manifests, one per file (Pods, Deployments, Services,
# ConfigMaps and, every 25th, a cluster-scoped Namespace, ClusterRole or
# StorageClass; some privileged, on `latest`, without resources, on host
# paths or the host network), then prints in one run:
#   - wall time and memory of `polscan apply -p scanner/policies -r DIR -o F`
#     for F in summary, yaml, json, junit, sarif (output written to a file),
#   - wall time and memory of `checkov -d DIR --framework kubernetes
#     --quiet --compact -o json --skip-download` on the same directory, as it
#     runs by default (its parsing forked over the cores),
#   - the ratios checkov / polscan (-o json, the format both print here).
# Memory twice: GNU time's peak RSS (of the largest single process, as the
# issue measured) and the peak of the whole process tree's summed PSS,
# sampled every 0.2 s (counts checkov's forked workers, shared pages once).
# Reference (polscan issue #13): 10,000 manifests, checkov 3.3.30 203 s and
# 3.43 GB, polscan apply -o json 5.78 s and 1.43 GB.
#
# checkov (CHECKOV_VERSION, default the issue's 3.3.30) is installed from
# PyPI into a venv cached under ${POLSCAN_CACHE_DIR:-~/.cache/polscan};
# GNU time and python3-venv come from apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-10000}"
CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
CACHE_DIR="${POLSCAN_CACHE_DIR:-${HOME}/.cache/polscan}"
VENV="$CACHE_DIR/checkov-venv-$CHECKOV_VERSION"
DIR="$(mktemp -d /tmp/polscan-offline-XXXXXX)"
trap 'rm -rf "$DIR"' EXIT

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
[ -x /usr/bin/time ] || apt_install time

if [ ! -x "$VENV/bin/checkov" ]; then
  echo "installing checkov $CHECKOV_VERSION into $VENV (once)..."
  rm -rf "$VENV"
  mkdir -p "$CACHE_DIR"
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
fi

cargo build --release -p polscan --locked >/dev/null 2>&1 || cargo build --release -p polscan --locked
POLSCAN="$PWD/target/release/polscan"

echo "generating $N manifests..."
python3 - "$N" "$DIR/manifests" <<'EOF'
import os, sys
n, out = int(sys.argv[1]), sys.argv[2]

def container(i):
    image = "nginx:latest" if i % 3 == 0 else "nginx:1.25.3"
    lines = [f"  - name: app", f"    image: {image}"]
    if i % 2 == 0:
        lines += ["    resources:", "      requests: {cpu: 10m, memory: 16Mi}", "      limits: {memory: 64Mi}"]
    if i % 5 == 0:
        lines += ["    securityContext: {privileged: true}"]
    elif i % 4 == 0:
        lines += ["    securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false,",
                  "      capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}"]
    if i % 6 == 0:
        lines += ["    livenessProbe: {httpGet: {path: /, port: 80}}", "    readinessProbe: {httpGet: {path: /, port: 80}}"]
    return lines

def pod_spec(i, indent):
    # Pods and Deployments take every 4th index: vary on the quotient so
    # each kind gets every mix of violations.
    i //= 4
    lines = ["hostNetwork: true"] if i % 11 == 0 else []
    lines += ["containers:"] + container(i)
    if i % 7 == 0:
        lines += ["volumes:", "- name: host", "  hostPath: {path: /var/run}"]
    return "\n".join(" " * indent + l for l in lines)

def meta(i, kind):
    labels = "" if i % 9 == 0 else f"\n  labels: {{app: a{i % 50}, app.kubernetes.io/name: web}}"
    return f"metadata:\n  name: {kind.lower()}-{i:06}\n  namespace: ns-{i % 20:02}{labels}"

def manifest(i):
    if i % 25 == 24:
        kind = ["Namespace", "ClusterRole", "StorageClass"][(i // 25) % 3]
        name = f"{kind.lower()}-{i:06}"
        if kind == "Namespace":
            return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels: {{team: t{i % 7}}}\n"
        if kind == "ClusterRole":
            return (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
                    "rules:\n- apiGroups: ['']\n  resources: [pods]\n  verbs: [get, list]\n")
        return (f"apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {name}\n"
                "provisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n")
    kind = ["Pod", "Deployment", "Service", "ConfigMap"][i % 4]
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\n{meta(i, kind)}\nspec:\n{pod_spec(i, 2)}\n"
    if kind == "Deployment":
        return (f"apiVersion: apps/v1\nkind: Deployment\n{meta(i, kind)}\nspec:\n  replicas: 2\n"
                f"  selector:\n    matchLabels: {{app: d{i}}}\n  template:\n    metadata:\n      labels: {{app: d{i}}}\n"
                f"    spec:\n{pod_spec(i, 6)}\n")
    if kind == "Service":
        return (f"apiVersion: v1\nkind: Service\n{meta(i, kind)}\nspec:\n"
                f"  type: {'NodePort' if i % 10 == 2 else 'ClusterIP'}\n  selector: {{app: a{i % 50}}}\n"
                "  ports:\n  - port: 80\n    targetPort: 8080\n")
    return f"apiVersion: v1\nkind: ConfigMap\n{meta(i, kind)}\ndata:\n  key: {'v' * 64}\n"

for i in range(n):
    sub = f"{out}/{i // 1000:03}"
    if i % 1000 == 0:
        os.makedirs(sub, exist_ok=True)
    with open(f"{sub}/m-{i:06}.yaml", "w") as f:
        f.write(manifest(i))
EOF
echo "manifests: $(find "$DIR/manifests" -name '*.yaml' | wc -l) files, $(du -sh "$DIR/manifests" | cut -f1)"

# measure LABEL CMD...: runs CMD under GNU time, stdout to $DIR/out-LABEL,
# while a sampler sums the proportional set size (PSS) of CMD's whole process
# tree every 0.2 s (checkov forks parsing workers; GNU time's peak RSS is the
# largest single process). Sets SECONDS_, RSS_KIB, PSS_KIB and EXIT_STATUS.
measure() {
  local label=$1; shift
  /usr/bin/time -v -o "$DIR/time-$label" "$@" >"$DIR/out-$label" 2>"$DIR/err-$label" &
  local pid=$!
  python3 - "$pid" "$DIR/pss-$label" <<'EOF' &
import os, sys, time
root, out = int(sys.argv[1]), sys.argv[2]
def children():
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                found.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found
def pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next((int(l.split()[1]) for l in f if l.startswith("Pss:")), 0)
    except OSError:
        return 0
peak = 0
while os.path.exists(f"/proc/{root}"):
    tree, todo, total = children(), [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        if pid != root:  # GNU time itself
            total += pss(pid)
    peak = max(peak, total)
    time.sleep(0.2)
open(out, "w").write(str(peak))
EOF
  local sampler=$!
  wait "$pid" || true
  wait "$sampler" || true
  SECONDS_=$(python3 - "$DIR/time-$label" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", text)
h, m, s = wall.groups()
print(f"{int(h or 0) * 3600 + int(m) * 60 + float(s):.2f}")
EOF
)
  RSS_KIB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time-$label")
  PSS_KIB=$(cat "$DIR/pss-$label")
  EXIT_STATUS=$(awk -F': ' '/Exit status/ {print $2}' "$DIR/time-$label")
}

row() {  # label seconds rss_kib pss_kib exit output-file
  python3 - "$@" <<'EOF'
import os, sys
label, seconds, rss, pss, status, out = sys.argv[1:]
size = os.path.getsize(out)
print(f"{label:<32} {float(seconds):8.2f} s  peak RSS {int(rss) / 1024:8.1f} MiB  (tree PSS {int(pss) / 1024:8.1f} MiB)"
      f"  exit {status:<3} output {size / 2**20:7.1f} MiB")
EOF
}

echo
echo "== offline benchmark: $N manifests, $(nproc) cores, policies scanner/policies ($(ls scanner/policies | wc -l) files)"
for format in summary yaml json junit sarif; do
  measure "polscan-$format" "$POLSCAN" apply -p scanner/policies -r "$DIR/manifests" -o "$format"
  row "polscan apply -o $format" "$SECONDS_" "$RSS_KIB" "$PSS_KIB" "$EXIT_STATUS" "$DIR/out-polscan-$format"
  if [ "$format" = json ]; then P_SECONDS=$SECONDS_; P_RSS=$RSS_KIB; P_PSS=$PSS_KIB; fi
  if [ "$format" = summary ]; then sed 's/^/                                 /' "$DIR/out-polscan-summary" | tail -1; fi
  if [ -s "$DIR/err-polscan-$format" ] && ! [ -s "$DIR/out-polscan-$format" ]; then
    tail -3 "$DIR/err-polscan-$format"
  fi
done

# As checkov runs by default (parsing forked over the cores), without
# Prisma Cloud downloads (no network needed, nothing but local checks).
"$VENV/bin/checkov" --version >"$DIR/checkov-version" 2>/dev/null || true
measure checkov "$VENV/bin/checkov" -d "$DIR/manifests" --framework kubernetes --quiet --compact -o json \
  --skip-download
row "checkov $(cat "$DIR/checkov-version") -o json" "$SECONDS_" "$RSS_KIB" "$PSS_KIB" "$EXIT_STATUS" "$DIR/out-checkov"
python3 - "$DIR/out-checkov" <<'EOF' || tail -5 "$DIR/err-checkov"
import json, sys
data = json.load(open(sys.argv[1]))
runs = data if isinstance(data, list) else [data]
for run in runs:
    s = run.get("summary", {})
    print(f"                                 checkov: {run.get('check_type')}: {s.get('resource_count')} resources, "
          f"passed {s.get('passed')}, failed {s.get('failed')}, parsing errors {s.get('parsing_errors')}")
EOF
C_SECONDS=$SECONDS_; C_RSS=$RSS_KIB; C_PSS=$PSS_KIB

echo
python3 - "$C_SECONDS" "$P_SECONDS" "$C_RSS" "$P_RSS" "$C_PSS" "$P_PSS" <<'EOF'
import sys
cs, ps, cr, pr, cp, pp = (float(x) for x in sys.argv[1:])
ratio = lambda a, b: f"{a / b:.1f}x" if b else "n/a"
print(f"ratio checkov / polscan (-o json): time {ratio(cs, ps)}, peak RSS {ratio(cr, pr)}, tree PSS {ratio(cp, pp)}")
print(f"issue #13 reference (10,000 manifests): checkov 203 s / 3.43 GB, polscan 5.78 s / 1.43 GB: time 35.1x, RSS 2.4x")
EOF
