#!/usr/bin/env bash
# How `polscan evidence` scales with the number of results, offline: N
# objects of the mix benches/cluster-scan.sh loads into a server (Pods,
# Deployments, Services, ConfigMaps in 20 namespaces) audited with the
# bundled policies and one that checks the ConfigMaps and Services, each
# resource's results in its own PolicyReport (as a scan writes them). The
# reports are split into files of 1000, as the cluster hands them over page
# by page, and a package is built from them, then a second one compared
# with the first (`--since`). Prints the time and peak memory of each step
# and the size of the package's files.
#   bash benches/evidence.sh [N]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-20000}"
cargo build --release -p polscan --locked >/dev/null
polscan="$PWD/target/release/polscan"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 benches/mixed_objects.py "$count" yaml > "$work/objects.yaml"
cp benches/bench-require-app-label.yaml "$work/labels.yaml"
mkdir "$work/policies" "$work/reports"
cp -r scanner/policies/. "$work/policies/"
cp "$work/labels.yaml" "$work/policies/"
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@"
  read -r seconds kib < "$work/time"
  printf '%-28s %8.2f s  %8.1f MiB\n' "$label" "$seconds" "$(echo "$kib / 1024" | bc -l)" >&2
}
command -v /usr/bin/time >/dev/null || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
echo "$count objects (Pods, Deployments, Services, ConfigMaps), bundled policies + app-label"
measure "apply -o yaml" bash -c "'$polscan' apply -p '$work/policies' -r '$work/objects.yaml' -o yaml --run-record '$work/record.yaml' > '$work/reports.yaml'"
python3 - "$work/reports.yaml" "$work/reports" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
docs = [d for d in re.split(r"(?m)^---\s*$", text) if d.strip()]
for i in range(0, len(docs), 1000):
    with open(f"{sys.argv[2]}/reports-{i // 1000:04}.yaml", "w") as f:
        f.write("---\n".join(docs[i:i + 1000]))
print(f"{len(docs)} reports", file=sys.stderr)
PY
rm "$work/reports.yaml"
measure "evidence --from" "$polscan" evidence --out "$work/pkg" --from "$work/reports" \
  --policies-from "$work/policies" --scan-record "$work/record.yaml" -q > /dev/null
measure "evidence --since" "$polscan" evidence --out "$work/pkg2" --from "$work/reports" \
  --policies-from "$work/policies" --scan-record "$work/record.yaml" --since "$work/pkg" -q > /dev/null
measure "evidence verify" "$polscan" evidence verify "$work/pkg" > /dev/null
du -h "$work"/pkg/* | sed "s|$work/||"
