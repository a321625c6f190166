#!/usr/bin/env bash
# Runs polscan's fuzz targets (fuzz/, cargo-fuzz + libFuzzer).
#
#   scripts/fuzz.sh TARGET SECONDS   run one target for SECONDS
#   scripts/fuzz.sh all SECONDS      run every target for SECONDS each, one after another
#   scripts/fuzz.sh list             name the targets
#
# Targets: documents (a manifest file through loading, evaluation, report
# shaping and every output format), pattern, variables, jmespath, cel,
# outputs. It installs what it needs when missing (rustup's nightly
# toolchain, cargo-fuzz), builds the seed corpora from the policy library
# and the shared cases ($POLSCAN_SHARED, default ../shared beside the
# repository) plus fuzz/seeds/, and keeps everything it writes under
# $POLSCAN_FUZZ_DIR (default ~/.cache/polscan/fuzz): the seeds, the corpus
# each run grows (reused by the next run), crashing inputs (artifacts/) and
# the build (target/). Nothing is written into the repository.
#
# Prints per target the executions, executions per second and crashes, as
# "test result:" lines that scripts/test.sh sums with the test binaries'.
# Exits non-zero when a target crashed (a panic, a timeout over
# $FUZZ_TIMEOUT seconds per input, default 10, or memory over
# $FUZZ_RSS_MB, default 2048), naming the crashing input; reproduce it
# with `cargo +nightly fuzz run TARGET <input>` in fuzz/.
#
# Built without a sanitizer (the workspace forbids unsafe code: what is
# sought are panics, hangs and memory blow-ups) and with debug assertions,
# so arithmetic overflow panics too; FUZZ_SANITIZER=address changes the
# first. One target at a time, with one rayon thread. FUZZ_RUNS=N also
# ends a run after N executions (whichever of SECONDS and N comes first),
# for the long runs that count executions.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
targets=(documents pattern variables jmespath cel outputs)

usage() { echo "usage: $0 {TARGET|all} SECONDS | $0 list   (targets: ${targets[*]})" >&2; exit 64; }

if [ "${1:-}" = list ]; then printf '%s\n' "${targets[@]}"; exit 0; fi
[ $# -eq 2 ] || usage
what="$1"
seconds="$2"
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || usage
if [ "$what" = all ]; then
  run=("${targets[@]}")
elif printf '%s\n' "${targets[@]}" | grep -qx -- "$what"; then
  run=("$what")
else
  usage
fi

work="${POLSCAN_FUZZ_DIR:-${HOME}/.cache/polscan/fuzz}"
sanitizer="${FUZZ_SANITIZER:-none}"
timeout="${FUZZ_TIMEOUT:-10}"
rss="${FUZZ_RSS_MB:-2048}"
runs_limit="${FUZZ_RUNS:--1}"
mkdir -p "$work"

# The shared corpora sit beside the repository; from a git worktree,
# beside the main checkout.
shared="${POLSCAN_SHARED:-}"
if [ -z "$shared" ]; then
  for candidate in "$here/../shared" \
    "$(git -C "$here" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared"; do
    if [ -d "$candidate" ]; then shared="$(cd "$candidate" && pwd)"; break; fi
  done
fi

# Tools: rustup's nightly (libFuzzer needs -Z flags) and cargo-fuzz.
command -v rustup >/dev/null 2>&1 || { echo "fuzz.sh: rustup not found (https://rustup.rs)" >&2; exit 1; }
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "== fuzz: installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

build=(--release --debug-assertions --sanitizer "$sanitizer" --target-dir "$work/target")
cd "$here/fuzz"
echo "== fuzz: building the targets"
cargo +nightly fuzz build "${build[@]}"

# Seeds: rebuilt every run from the corpora (never stored in the repo).
seeds="$work/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
sources=()
if [ -n "$shared" ]; then
  for dir in "$shared/corpora/kyverno-policies" "$shared/cases"; do
    [ -d "$dir" ] && sources+=("$dir")
  done
fi
if [ ${#sources[@]} -gt 0 ]; then
  echo "== fuzz: seeds from ${sources[*]}"
  cargo build --quiet --release --manifest-path "$here/fuzz/seed-builder/Cargo.toml" \
    --target-dir "$work/seed-target"
  "$work/seed-target/release/polscan-fuzz-seeds" "$seeds" "${sources[@]}"
else
  echo "== fuzz: no shared corpora found (set POLSCAN_SHARED): fuzz/seeds only"
fi

failed=0
for target in "${run[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  mkdir -p "$corpus" "$artifacts" "$seeds/$target"
  log="$work/$target.log"
  max_len=16384
  [ "$target" = documents ] && max_len=65536
  echo "== fuzz: $target for ${seconds}s"
  # The first corpus directory receives what libFuzzer finds; the seeds
  # are read only.
  status=0
  RAYON_NUM_THREADS=1 cargo +nightly fuzz run "${build[@]}" "$target" \
    "$corpus" "$seeds/$target" "$here/fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -runs="$runs_limit" -timeout="$timeout" -rss_limit_mb="$rss" \
    -max_len="$max_len" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  if [ "$status" -eq 0 ] && [ -z "$crash" ]; then
    echo "test result: ok. 1 passed; 0 failed; fuzz $target: ${runs:-0} executions, ${rate:-0}/s, 0 crashes"
  elif [ -z "$crash" ] && grep -q "libFuzzer: run interrupted" "$log"; then
    # Stopped by SIGINT (libFuzzer exits 72): the figures stand, no crash.
    echo "test result: ok. 1 passed; 0 failed; fuzz $target: ${runs:-0} executions, ${rate:-0}/s, 0 crashes (interrupted)"
  else
    failed=1
    grep -m 1 -A 12 -E "panicked at|ERROR: libFuzzer|==ERROR" "$log" >&2 || tail -n 30 "$log" >&2
    echo "test result: FAILED. 0 passed; 1 failed; fuzz $target: ${runs:-0} executions, ${rate:-0}/s, 1 crash: ${crash:-see $log}"
  fi
done
exit "$failed"
