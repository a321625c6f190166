#!/usr/bin/env bash
# The full test suite: formatting, lints, every unit and integration test
# (including the Kyverno policy-library conformance harness, which prints the
# score per category and fails below the floors in tests/conformance-floors.txt),
# then a short run of every fuzz target (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done

# One build per run: incremental caches would only add gigabytes to the
# target dir (CI's disk is finite; the linker dies with SIGBUS when full).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== disk free where the build goes"
df -h "${CARGO_TARGET_DIR:-.}" 2>/dev/null || true

if [ ! -d "${POLSCAN_CORPUS:-../shared/corpora/kyverno-policies}" ]; then
  echo "Kyverno policy corpus not found at ${POLSCAN_CORPUS:-../shared/corpora/kyverno-policies} (set POLSCAN_CORPUS)" >&2
  exit 1
fi

# The cluster tests run against a real kube-apiserver + etcd; this builds
# (once, cached in ~/.cache/polscan) or finds them, installing what it needs.
echo "== kube-apiserver + etcd for the cluster tests"
bash scripts/apiserver.sh build
command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found: the cluster tests use it" >&2; exit 1; }

# SARIF output is validated against the OASIS schema and the evidence page is
# rendered in a headless Chromium; both are fetched/installed once here (the
# tests call the same script, so `cargo test` alone works too).
echo "== test assets (SARIF schema, Chromium)"
bash scripts/test-assets.sh sarif-schema
bash scripts/test-assets.sh chromium

echo "== cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo fmt --manifest-path fuzz/seed-builder/Cargo.toml -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo build (the polscan binary the cluster tests run)"
cargo build -p polscan --locked
echo "== cargo test"
# --nocapture so the conformance table is printed in the log. The last line
# sums every test binary's result line, so the log closes on the whole
# suite's count rather than on the last (often empty) doc-test binary.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked -- --nocapture --test-threads=2 2>&1 | tee "$log"
# A short run of every fuzz target (fuzz/, scripts/fuzz.sh): each one
# prints a "test result:" line, summed below with the tests'. A crash
# fails the suite after the count is printed.
df -h "${CARGO_TARGET_DIR:-.}" 2>/dev/null || true
echo "== fuzz smoke (${FUZZ_SMOKE_SECONDS:-20}s per target)"
fuzz_status=0
bash scripts/fuzz.sh all "${FUZZ_SMOKE_SECONDS:-20}" 2>&1 | tee -a "$log" || fuzz_status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "suite: %d passed, %d failed\n", p, f }' "$log"
exit "$fuzz_status"
