#!/usr/bin/env bash
# Cluster-scan benchmark on a real kube-apiserver + etcd (scripts/apiserver.sh).
#
#   bash benches/cluster-scan.sh [N]      (N objects, default 20000)
#
# Loads N objects of mixed kinds (Pods, Deployments, Services, ConfigMaps)
# into a fresh server, then prints in one run:
#   - the time of a raw paginated LIST of the same objects (500 per page),
#   - objects/s and report writes of a first scan and of a no-change rescan,
#   - polscan's peak RSS in each scan.
# The policies are polscan's bundled set (scanner/policies), passed as files.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-20000}"
DIR="$(mktemp -d /tmp/polscan-bench-XXXXXX)"
cleanup() { bash scripts/apiserver.sh stop "$DIR/server" >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap cleanup EXIT

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release -p polscan --locked >/dev/null 2>&1 || cargo build --release -p polscan --locked
POLSCAN="$PWD/target/release/polscan"

KUBECONFIG="$(bash scripts/apiserver.sh start "$DIR/server")"
export KUBECONFIG
"$POLSCAN" install-crds >/dev/null

echo "loading $N objects..."
python3 - "$N" "$DIR" <<'EOF'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
namespaces = 20
def pod_spec(i):
    image = "nginx:latest" if i % 3 == 0 else "nginx:1.25"
    c = {"name": "app", "image": image}
    if i % 2 == 0:
        c["resources"] = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}
    if i % 5 == 0:
        c["securityContext"] = {"privileged": True}
    return {"containers": [c]}
kinds = ["Pod", "ConfigMap", "Service", "Deployment"]
batch, batches = [], 0
def flush():
    global batch, batches
    if batch:
        with open(f"{out}/objects-{batches:04}.json", "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": batch}, f)
        batches += 1
        batch = []
with open(f"{out}/namespaces.json", "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{k:02}", "labels": {"team": f"t{k}"}}}
        for k in range(namespaces)]}, f)
for i in range(n):
    kind = kinds[i % len(kinds)]
    meta = {"name": f"obj-{i:06}", "namespace": f"bench-{i % namespaces:02}", "labels": {"app": f"a{i % 50}"}}
    if kind == "Pod":
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec(i)}
    elif kind == "ConfigMap":
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v" * 64}}
    elif kind == "Service":
        obj = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
               "spec": {"clusterIP": "None", "ports": [{"port": 80}], "selector": {"app": "x"}}}
    else:
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": {
            "selector": {"matchLabels": {"app": meta["name"]}},
            "template": {"metadata": {"labels": {"app": meta["name"]}}, "spec": pod_spec(i)}}}
    batch.append(obj)
    if len(batch) == 500:
        flush()
flush()
EOF
# The bundled set checks Pods and their controllers; this policy makes the
# ConfigMaps and Services count too.
cat >"$DIR/labels.yaml" <<'POLICY'
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: bench-require-app-label
spec:
  background: true
  rules:
  - name: app-label
    match:
      any:
      - resources:
          kinds: [ConfigMap, Service]
    validate:
      message: "ConfigMaps and Services need an app label."
      pattern:
        metadata:
          labels:
            app: "?*"
POLICY
kubectl create -f "$DIR/namespaces.json" >/dev/null
for file in "$DIR"/objects-*.json; do kubectl create -f "$file" -o name >/dev/null; done

echo "raw paginated LIST (500 per page) of the same kinds..."
TOKEN="$(grep 'token:' "$KUBECONFIG" | awk '{print $2}')"
SERVER="$(grep 'server:' "$KUBECONFIG" | awk '{print $2}')"
RAW=$(python3 - "$SERVER" "$TOKEN" <<'EOF'
import json, ssl, sys, time, urllib.request, urllib.parse
server, token = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
start = time.monotonic(); count = 0
for path in ["/api/v1/pods", "/api/v1/configmaps", "/api/v1/services", "/apis/apps/v1/deployments"]:
    token_ = ""
    while True:
        q = {"limit": "500"}
        if token_: q["continue"] = token_
        req = urllib.request.Request(server + path + "?" + urllib.parse.urlencode(q), headers={"Authorization": "Bearer " + token})
        page = json.load(urllib.request.urlopen(req, context=ctx))
        count += len(page["items"])
        token_ = page["metadata"].get("continue", "")
        if not token_: break
print(f"{time.monotonic() - start:.2f} {count}")
EOF
)

run_scan() {
  local label=$1
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$DIR/time-$label" "$POLSCAN" scan --no-cluster-policies --policy scanner/policies \
    --policy "$DIR/labels.yaml" -o summary --last-run-configmap default/polscan-last-run \
    >/dev/null 2>"$DIR/scan-$label.err" || true
  end=$(date +%s.%N)
  local summary rss
  summary=$(grep '^scan:' "$DIR/scan-$label.err" || tail -3 "$DIR/scan-$label.err")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time-$label")
  python3 - "$label" "$start" "$end" "$summary" "$rss" <<'EOF'
import re, sys
label, start, end, summary, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
seconds = end - start
objects = int(re.search(r"(\d+) objects", summary).group(1)) if re.search(r"(\d+) objects", summary) else 0
writes = re.search(r"written (\d+)", summary)
print(f"{label:<8} {seconds:7.2f} s  {objects / seconds if seconds else 0:9.0f} objects/s  writes {writes.group(1) if writes else '?':>6}  peak RSS {int(rss) / 1024:7.1f} MiB")
print(f"         {summary}")
EOF
}

echo
echo "== cluster-scan benchmark: $N objects, $(nproc) cores"
read -r RAW_SECONDS RAW_COUNT <<<"$RAW"
echo "raw LIST $RAW_SECONDS s for $RAW_COUNT objects ($(python3 -c "print(round($RAW_COUNT/$RAW_SECONDS))") objects/s)"
run_scan first
run_scan rescan

# The evidence package from the reports just written: every report read back,
# and the owner of every violating resource looked up.
start=$(date +%s.%N)
POLSCAN_LOG=polscan=info /usr/bin/time -v -o "$DIR/time-evidence" "$POLSCAN" evidence --out "$DIR/evidence" \
  --scan-record default/polscan-last-run -q >/dev/null 2>"$DIR/evidence.err" || true
end=$(date +%s.%N)
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time-evidence")
python3 -c "import sys; print(f'evidence {float(sys.argv[2]) - float(sys.argv[1]):7.2f} s  peak RSS {int(sys.argv[3]) / 1024:7.1f} MiB')" "$start" "$end" "$rss"
grep -o 'evidence: .* elapsed_ms=[0-9]*' "$DIR/evidence.err" | sed 's/^/         /' || true
du -h "$DIR"/evidence/* | sed "s|$DIR/||"
