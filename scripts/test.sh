#!/usr/bin/env bash
# The full test suite: formatting, lints, every unit and integration test
# (including the Kyverno policy-library conformance harness, which prints the
# score per category and fails below the floors in tests/conformance-floors.txt).
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

if [ ! -d "${POLSCAN_CORPUS:-../shared/corpora/kyverno-policies}" ]; then
  echo "Kyverno policy corpus not found at ${POLSCAN_CORPUS:-../shared/corpora/kyverno-policies} (set POLSCAN_CORPUS)" >&2
  exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
# --nocapture so the conformance table is printed in the log.
cargo test --workspace --locked -- --nocapture --test-threads=2
