#!/usr/bin/env bash
# Cluster-scan benchmark on a real kube-apiserver + etcd (scripts/apiserver.sh).
#
#   bash benches/cluster-scan.sh [N]      (N objects, default 20000, up to 50000)
#   SHARDS=3 bash benches/cluster-scan.sh [N]   (every scan as 3 shards at once;
#     also times a shard's listing both ways: the whole cluster, or its
#     namespaces one at a time; LIST_ONLY=1 stops after that)
#
# Loads N objects of mixed kinds (Pods, Deployments, Services, ConfigMaps)
# into a fresh server, then prints in one run:
#   - the time of a raw paginated LIST of the same objects (500 per page),
#   - the server's write limit for this scan's reports: `write-limit`
#     (benches/write_limit.rs, kube's client as polscan uses it) applies the
#     very reports the first scan writes, as polscan writes them (server-side
#     apply, fieldManager=polscan, force) and with polscan's write
#     concurrency, to a twin API server (see below), once before the first
#     scan and once just after it; then once more in the shape polscan wrote
#     before 2026-11-30 (FORMER_SHAPE=0 skips it), for the speed-up the
#     lighter reports give,
#   - objects/s, report writes and peak RSS of a first scan and of
#     no-change rescans (RESCAN_ROUNDS, default 5, each after a raw LIST),
#     with the phase timings polscan logs,
#   - the evidence package's time and peak RSS,
#   - the ratios first scan / write limit and rescan / raw LIST (wall times;
#     the former against the mean of the two writes, the latter the median
#     of the rounds').
# The policies are polscan's bundled set (scanner/policies), passed as files.
#
# Order, and why: load -> raw LIST -> dry run -> write limit -> first scan ->
# write limit -> (raw LIST, rescan) rounds -> evidence. The dry run
# (`scan --dry-run -o json`) prints exactly the reports the first scan will write (the store is empty, so every wanted
# report is written); it lists what the raw LIST already listed, so it warms
# nothing the raw LIST had not. `write-limit` then writes those reports
# (renamed `-raw`, labelled polscan-bench/write-limit=true, after one untimed
# warm-up write) to a second API server, its twin: loaded with the same
# namespaces and objects (the same store size as the scanned server's), idle
# during the first scan and stopped after the second write (`-raw2`). The
# scanned server never sees them, so the first scan starts from an empty report store and no etcd history of deleted
# reports, and no time goes on deleting them (a delete-collection removes
# about as few reports per second as are written).
# WRITE_LIMIT_SERVER=second writes to a second server with the namespaces
# only (a smaller store; the figure before 2026-12-01);
# WRITE_LIMIT_SERVER=same writes to the scanned server itself and deletes
# them again (at 2,000 reports the choices did not differ beyond this
# machine's noise); WRITE_LIMIT_SERVER=off skips the step.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-20000}"
[ "$N" -le 50000 ] 2>/dev/null || { echo "N must be a number up to 50000" >&2; exit 2; }
WRITE_LIMIT_SERVER="${WRITE_LIMIT_SERVER:-twin}"
# SHARDS=N runs every scan as N shard processes at once (--shard I/N).
SHARDS="${SHARDS:-1}"
DIR="$(mktemp -d /tmp/polscan-bench-XXXXXX)"
cleanup() {
  bash scripts/apiserver.sh stop "$DIR/server2" >/dev/null 2>&1 || true
  bash scripts/apiserver.sh stop "$DIR/server" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
build() { cargo build --release -p polscan -p polscan-benches --bin polscan --bin write-limit --locked "$@"; }
build >/dev/null 2>&1 || build
POLSCAN="$PWD/target/release/polscan"
WRITER="$PWD/target/release/write-limit"

# polscan's write concurrency: the flag's default when it has one, else the
# library's default (ScanOptions::default in scanner/cluster/src/scan/mod.rs).
WRITE_CONCURRENCY="${WRITE_CONCURRENCY:-$("$POLSCAN" scan --help | python3 -c '
import re, sys
m = re.search(r"--write-concurrency\b.*?(?:\[default: (\d+)\]|\n\s+-)", sys.stdin.read(), re.S)
print(m.group(1) if m and m.group(1) else "")')}"
WRITE_CONCURRENCY="${WRITE_CONCURRENCY:-$(grep -oP 'write_concurrency: \K[0-9]+' scanner/cluster/src/scan/mod.rs | head -1)}"

KUBECONFIG="$(bash scripts/apiserver.sh start "$DIR/server")"
export KUBECONFIG
"$POLSCAN" install-crds >/dev/null

echo "loading $N objects..."
python3 benches/mixed_objects.py "$N" lists "$DIR"
# The bundled set checks Pods and their controllers; this policy makes the
# ConfigMaps and Services count too.
cp benches/bench-require-app-label.yaml "$DIR/labels.yaml"
kubectl create -f "$DIR/namespaces.json" >/dev/null
# load_objects KUBECONFIG: the generated objects into a server. kubectl
# creates a file's objects one request at a time: files in parallel.
load_objects() {
  find "$DIR" -maxdepth 1 -name 'objects-*.json' -print0 | sort -z \
    | xargs -0 -P "${LOAD_JOBS:-4}" -I{} kubectl --kubeconfig "$1" create -f {} -o name >/dev/null
}
load_started=$(date +%s.%N)
load_objects "$KUBECONFIG"
echo "loaded in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$load_started" "$(date +%s.%N)") s"

# seconds_since START: wall seconds from a `date +%s.%N` stamp to now.
seconds_since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(date +%s.%N)"; }
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }

echo
echo "== cluster-scan benchmark: $N objects, $(nproc) cores, write concurrency $WRITE_CONCURRENCY"
TOKEN="$(grep 'token:' "$KUBECONFIG" | awk '{print $2}')"
SERVER="$(grep 'server:' "$KUBECONFIG" | awk '{print $2}')"
# raw_list: a raw paginated LIST of the loaded kinds; prints "SECONDS COUNT".
raw_list() {
  python3 - "$SERVER" "$TOKEN" <<'EOF'
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
}
RAW=$(raw_list)

read -r RAW_SECONDS RAW_COUNT <<<"$RAW"
echo "raw LIST $RAW_SECONDS s for $RAW_COUNT objects ($(python3 -c "print(round($RAW_COUNT/$RAW_SECONDS))") objects/s, paginated, 500 per page, one kind at a time)"

# With shards: what a shard's listing costs either way. A shard lists the
# whole cluster and keeps its part (what polscan does); the alternative is
# a LIST per kind in each of its namespaces only.
if [ "$SHARDS" -gt 1 ]; then
  python3 - "$SERVER" "$TOKEN" "$DIR/namespaces.json" "$SHARDS" <<'EOF'
import hashlib, json, ssl, sys, time, urllib.request, urllib.parse
server, token, namespaces_file, shards = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def shard_of(name):  # polscan's partition (scanner/evidence/src/run/shard.rs)
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % shards
listed = json.load(open(namespaces_file))
names = [item["metadata"]["name"] for item in listed.get("items", listed if isinstance(listed, list) else [])]
own = [n for n in names if shard_of(n) == 0]
def list_all(paths):
    start, count, requests = time.monotonic(), 0, 0
    for path in paths:
        token_ = ""
        while True:
            q = {"limit": "500"}
            if token_: q["continue"] = token_
            req = urllib.request.Request(server + path + "?" + urllib.parse.urlencode(q), headers={"Authorization": "Bearer " + token})
            page = json.load(urllib.request.urlopen(req, context=ctx)); requests += 1
            count += len(page["items"])
            token_ = page["metadata"].get("continue", "")
            if not token_: break
    return time.monotonic() - start, count, requests
kinds = [("/api/v1", "pods"), ("/api/v1", "configmaps"), ("/api/v1", "services"), ("/apis/apps/v1", "deployments")]
whole = list_all([f"{base}/{plural}" for base, plural in kinds])
per_ns = list_all([f"{base}/namespaces/{ns}/{plural}" for base, plural in kinds for ns in own])
print(f"shard listing: the whole cluster {whole[0]:.2f} s ({whole[1]} objects, {whole[2]} requests), kept 1/{shards};"
      f" shard 0's {len(own)} of {len(names)} namespaces one at a time {per_ns[0]:.2f} s ({per_ns[1]} objects, {per_ns[2]} requests)")
EOF
  if [ "${LIST_ONLY:-0}" = 1 ]; then exit 0; fi
fi

# The reports the first scan will write: a dry run on the empty store.
start=$(date +%s.%N)
/usr/bin/time -v -o "$DIR/time-dry-run" "$POLSCAN" scan --dry-run --no-cluster-policies --policy scanner/policies \
  --policy "$DIR/labels.yaml" -o json >"$DIR/reports.json" 2>"$DIR/dry-run.err" || true
seconds=$(seconds_since "$start")
REPORTS=$(python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))['items']))" "$DIR/reports.json")
echo "dry run  $(printf '%7.2f' "$seconds") s  (-o json, not timed against anything: it collects the $REPORTS reports to write, $(du -h "$DIR/reports.json" | cut -f1) of JSON; peak RSS $(rss_mib "$DIR/time-dry-run") MiB)"

# The server's write limit for these reports, measured twice: before the
# first scan and again just after it, on the same server (the second time
# under other names). This machine's speed drifts between minutes (one
# day's write limits at 20k ranged 220-309 reports/s), so the first scan is
# compared with the mean of the two writes that bracket it.
WRITE_SECONDS=()
case "$WRITE_LIMIT_SERVER" in
  same) WRITE_KUBECONFIG="$KUBECONFIG" ;;
  twin|second)
    WRITE_KUBECONFIG="$(bash scripts/apiserver.sh start "$DIR/server2")"
    "$POLSCAN" install-crds --kubeconfig "$WRITE_KUBECONFIG" >/dev/null
    kubectl --kubeconfig "$WRITE_KUBECONFIG" create -f "$DIR/namespaces.json" >/dev/null
    if [ "$WRITE_LIMIT_SERVER" = twin ]; then load_objects "$WRITE_KUBECONFIG"; fi ;;
  off) WRITE_KUBECONFIG="" ;;
  *) echo "WRITE_LIMIT_SERVER must be twin, second, same or off" >&2; exit 2 ;;
esac
# write_limit SUFFIX WHEN [SHAPE]: one timed write of the reports (renamed
# with SUFFIX, in SHAPE: current by default); prints its line and sets
# LAST_WRITE_SECONDS. On the scanned server itself (same), the reports are
# deleted again at once.
write_limit() {
  [ -n "$WRITE_KUBECONFIG" ] || return 0
  local write
  write=$("$WRITER" apply "$DIR/reports.json" --suffix "$1" --shape "${3:-current}" \
    --concurrency "$WRITE_CONCURRENCY" --kubeconfig "$WRITE_KUBECONFIG")
  LAST_WRITE_SECONDS=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$write")
  python3 - "$write" "$WRITE_LIMIT_SERVER" "$2" <<'EOF'
import sys
fields = dict(pair.split("=", 1) for pair in sys.argv[1].split())
where = {"same": "this server", "twin": "a second server holding the same objects"}.get(sys.argv[2], "a second server with the namespaces only")
print(f"write limit {float(fields['seconds']):5.2f} s  {float(fields['per_second']):9.0f} reports/s  writes {fields['written']:>6}"
      f"  ({sys.argv[3]}; server-side apply, {fields['concurrency']} in flight, {int(fields['bytes']) / 2**20:.1f} MiB of reports, on {where}; failed {fields['failed']})")
EOF
  if [ "$WRITE_LIMIT_SERVER" = same ]; then
    local clean
    clean=$("$WRITER" clean "$DIR/reports.json" --kubeconfig "$WRITE_KUBECONFIG")
    echo "         written reports deleted again in ${clean#deleted_seconds=} s (not timed against anything)"
  fi
}
write_limit -raw "before the first scan"
WRITE_SECONDS+=("${LAST_WRITE_SECONDS:-}")

# run_scan LABEL: one scan writing reports; prints its line and phase
# timings and sets SCAN_SECONDS.
run_scan() {
  local label=$1
  local start end
  if [ "$SHARDS" -gt 1 ]; then
    run_shards "$label"
    return
  fi
  start=$(date +%s.%N)
  POLSCAN_LOG=polscan=info /usr/bin/time -v -o "$DIR/time-$label" "$POLSCAN" scan --no-cluster-policies \
    --policy scanner/policies --policy "$DIR/labels.yaml" -o summary --last-run-configmap default/polscan-last-run \
    >/dev/null 2>"$DIR/scan-$label.err" || true
  end=$(date +%s.%N)
  SCAN_SECONDS=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$end")
  local summary rss
  summary=$(grep '^scan:' "$DIR/scan-$label.err" || tail -3 "$DIR/scan-$label.err")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time-$label")
  # polscan's own CPU (user + system): what it takes from the server's two cores.
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s += $2} END {printf "%.1f", s}' "$DIR/time-$label")
  python3 - "$label" "$SCAN_SECONDS" "$summary" "$rss" "$DIR/scan-$label.err" "$cpu" <<'EOF'
import re, sys
label, seconds, summary, rss, log, cpu = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
objects = int(re.search(r"(\d+) objects", summary).group(1)) if re.search(r"(\d+) objects", summary) else 0
writes = re.search(r"written (\d+)", summary)
print(f"{label:<8} {seconds:7.2f} s  {objects / seconds if seconds else 0:9.0f} objects/s  writes {writes.group(1) if writes else '?':>6}  peak RSS {int(rss) / 1024:7.1f} MiB  polscan CPU {cpu} s")
print(f"         {summary}")
# Phase lines (POLSCAN_LOG=polscan=info): "<time> INFO polscan::scan: <phase> elapsed_ms=<ms>".
phases = re.findall(r"polscan::scan: (.+?) elapsed_ms=(\d+)", open(log).read())
if phases:
    print("         phases (ms since start): " + ", ".join(f"{name} {ms}" for name, ms in phases))
EOF
}

# run_shards LABEL: the scan as SHARDS processes at once (`--shard I/N`, one
# run id), as an Indexed Job runs them on one machine; the line gives the
# wall time until the last ends, the writes of all, the largest peak RSS
# and the CPU of all.
run_shards() {
  local label=$1 start i
  start=$(date +%s.%N)
  for i in $(seq 0 $((SHARDS - 1))); do
    POLSCAN_LOG=polscan=info /usr/bin/time -v -o "$DIR/time-$label-$i" "$POLSCAN" scan --no-cluster-policies \
      --policy scanner/policies --policy "$DIR/labels.yaml" -o summary --last-run-configmap default/polscan-last-run \
      --shard "$i/$SHARDS" --run-id "$label" >/dev/null 2>"$DIR/scan-$label-$i.err" &
  done
  wait
  SCAN_SECONDS=$(seconds_since "$start")
  python3 - "$label" "$SCAN_SECONDS" "$SHARDS" "$DIR" <<'EOF'
import re, sys
label, seconds, shards, d = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
writes, rss, cpu, objects, lines = 0, 0, 0.0, 0, []
for i in range(shards):
    err = open(f"{d}/scan-{label}-{i}.err").read()
    time = open(f"{d}/time-{label}-{i}").read()
    summary = next((l for l in err.splitlines() if l.startswith("scan:")), err.strip().splitlines()[-1] if err.strip() else "?")
    lines.append(f"shard {i}/{shards}: {summary}")
    m = re.search(r"written (\d+)", summary); writes += int(m.group(1)) if m else 0
    # Each shard lists its own namespaces (and every cluster-scoped object).
    m = re.search(r"(\d+) objects", summary); objects += int(m.group(1)) if m else 0
    rss = max(rss, int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", time).group(1)))
    cpu += sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", time))
print(f"{label:<8} {seconds:7.2f} s  {objects / seconds if seconds else 0:9.0f} objects/s (all shards)  writes {writes:>6}  peak RSS {rss / 1024:7.1f} MiB (largest shard)  polscan CPU {cpu:.1f} s ({shards} shards)")
for line in lines:
    print(f"         {line}")
EOF
}

run_scan first
FIRST_SECONDS=$SCAN_SECONDS
# The second write, idle until now (an idle API server takes next to no CPU).
write_limit -raw2 "just after the first scan"
WRITE_SECONDS+=("${LAST_WRITE_SECONDS:-}")
# The same reports in the shape polscan wrote before 2026-11-30 (each result
# naming its resource again, timestamps with nanoseconds): the first scan
# ran at the write limit then too, so this is what it would take with them.
FORMER_SECONDS=""
if [ "${FORMER_SHAPE:-1}" = 1 ]; then
  write_limit -raw3 "the former report shape: results[].resources, nanos" former
  FORMER_SECONDS=${LAST_WRITE_SECONDS:-}
fi
if [ "$WRITE_LIMIT_SERVER" = twin ] || [ "$WRITE_LIMIT_SERVER" = second ]; then
  bash scripts/apiserver.sh stop "$DIR/server2" >/dev/null
fi
# No-change rescans against raw LISTs, in interleaved rounds: this
# machine's speed drifts from one minute to the next (one day's runs timed
# the same raw LIST of 20,001 objects at 0.94 to 1.44 s), so each rescan is
# compared with a raw LIST taken just before it, and the ratio is the
# median of the rounds'.
ROUNDS="${RESCAN_ROUNDS:-5}"
RESCAN_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
  read -r round_raw _ <<<"$(raw_list)"
  run_scan "rescan-$round"
  RESCAN_RATIOS+=("$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$SCAN_SECONDS" "$round_raw")")
  echo "         round $round: raw LIST $round_raw s just before; rescan / raw LIST ${RESCAN_RATIOS[-1]}"
done

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

# The outputs that list every finding (the table, JUnit, SARIF) stream
# them through a temporary file: peak RSS stays near the summary's. Each
# is a rescan that evaluates every object (nothing is reused for them).
for format in table junit sarif; do
  start=$(date +%s.%N)
  NO_COLOR=1 /usr/bin/time -v -o "$DIR/time-$format" "$POLSCAN" scan --no-cluster-policies --policy scanner/policies \
    --policy "$DIR/labels.yaml" -o "$format" >"$DIR/out.$format" 2>"$DIR/scan-$format.err" || true
  seconds=$(seconds_since "$start")
  echo "-o $(printf '%-6s' "$format") $(printf '%7.2f' "$seconds") s  peak RSS $(rss_mib "$DIR/time-$format") MiB  output $(du -h "$DIR/out.$format" | cut -f1)"
  rm -f "$DIR/out.$format"
done

echo
python3 - "$FIRST_SECONDS" "${WRITE_SECONDS[*]:-}" "${FORMER_SECONDS:-}" "${RESCAN_RATIOS[@]}" <<'EOF'
import statistics, sys
first, writes = float(sys.argv[1]), [float(x) for x in sys.argv[2].split()]
former = float(sys.argv[3]) if sys.argv[3] else 0.0
ratios = [float(x) for x in sys.argv[4:]]
if writes:
    write = statistics.mean(writes)
    print(f"ratio first scan / write limit: {first / write:.2f}  against the mean of the writes before and after it"
          f" ({', '.join(f'{first / w:.2f}' for w in writes)} against each; 1.00 = the scan costs no more than writing its reports)")
else:
    print("ratio first scan / write limit: not measured (WRITE_LIMIT_SERVER=off)")
if former > 0:
    print(f"speed-up over the former report shape: {former / first:.2f}  (its write limit / this first scan; >1 = faster than a scan writing the former shape could be)")
print(f"ratio rescan / raw LIST:        {statistics.median(ratios):.2f}  median of {len(ratios)} rounds ({', '.join(f'{r:.2f}' for r in ratios)}; 1.00 = the rescan costs no more than listing)")
EOF
