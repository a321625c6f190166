#!/usr/bin/env bash
# Test assets that come from package registries, fetched once and cached in
# ~/.cache/polscan, and the path printed on stdout:
#   test-assets.sh sarif-schema   the OASIS SARIF 2.1.0 JSON schema, as
#                                 Microsoft ships it in @microsoft/jest-sarif
#                                 (npm), checked against its SHA-256
#   test-assets.sh chromium       a headless Chromium (Debian's package,
#                                 installed with apt when missing)
# Tests call this themselves, so `cargo test` needs no other set-up.
set -euo pipefail

cache="${POLSCAN_CACHE:-${HOME}/.cache/polscan}"
mkdir -p "${cache}"

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing $2 (apt)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "$1 not found; install $2" >&2; exit 1; }
}

case "${1:-}" in
  sarif-schema)
    schema="${cache}/sarif-schema-2.1.0-rtm.5.json"
    if [ ! -s "${schema}" ]; then
      need curl curl
      tarball="${cache}/jest-sarif-1.0.0-beta.0.tgz"
      curl -fsSL -o "${tarball}.part" \
        https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz
      echo "748e2c3d1a842e7bb258416685c7ea3a0da40005b72267b2052c2856d48ad102  ${tarball}.part" \
        | sha256sum -c --quiet - >&2
      mv "${tarball}.part" "${tarball}"
      tar -xzf "${tarball}" -O package/lib/schemas/sarif-2.1.0-rtm.5.json > "${schema}.part"
      mv "${schema}.part" "${schema}"
    fi
    echo "${schema}"
    ;;
  chromium)
    for candidate in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
      if [ -n "${candidate}" ] && command -v "${candidate}" >/dev/null 2>&1; then
        command -v "${candidate}"
        exit 0
      fi
    done
    need chromium chromium
    command -v chromium
    ;;
  *)
    echo "usage: $0 sarif-schema|chromium" >&2
    exit 2
    ;;
esac
