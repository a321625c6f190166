#!/usr/bin/env bash
# How `polscan evidence` scales with the number of results: N Pods (every
# third unpinned, every fifth without labels) audited with the bundled
# policies, then a package built from those reports. Prints the time and
# peak memory of each step and the size of the package's files.
#   bash benches/evidence.sh [N]   (default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5000}"
cargo build --release -p polscan --locked >/dev/null
polscan="$PWD/target/release/polscan"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$count" > "$work/pods.yaml" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    image = "nginx:latest" if i % 3 == 0 else "nginx:1.27"
    labels = "" if i % 5 == 0 else f"\n  labels: {{app: web-{i % 50}, app.kubernetes.io/name: web}}"
    print(f"""---
apiVersion: v1
kind: Pod
metadata:
  name: pod-{i}
  namespace: ns-{i % 20}{labels}
spec:
  containers:
  - name: c
    image: {image}
    resources: {{requests: {{cpu: 10m, memory: 16Mi}}, limits: {{memory: 32Mi}}}}""")
PY
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@"
  read -r seconds kib < "$work/time"
  printf '%-28s %8.2f s  %8.1f MiB\n' "$label" "$seconds" "$(echo "$kib / 1024" | bc -l)" >&2
}
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
echo "$count Pods, bundled policies"
measure "apply -o yaml" bash -c "'$polscan' apply -p scanner/policies -r '$work/pods.yaml' -o yaml --run-record '$work/record.yaml' > '$work/reports.yaml'"
measure "evidence --from" "$polscan" evidence --out "$work/pkg" --from "$work/reports.yaml" \
  --policies-from scanner/policies --scan-record "$work/record.yaml" -q > /dev/null
measure "evidence verify" "$polscan" evidence verify "$work/pkg" > /dev/null
du -h "$work/reports.yaml" "$work"/pkg/* | sed "s|$work/||"
