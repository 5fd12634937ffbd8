#!/usr/bin/env bash
# The whole test suite: installs what is missing (as root), then formatting, lints and tests.
# Usage: scripts/test.sh            (CI calls exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=()
command -v docker-registry >/dev/null 2>&1 || pkgs+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || pkgs+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
command -v faketime >/dev/null 2>&1 || pkgs+=(faketime)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing: ${pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "missing tools: ${pkgs[*]} (run as root, or: sudo apt-get install ${pkgs[*]})" >&2
    exit 2
  fi
fi
if ! python3 -c 'import cryptography, nacl, jsonschema, yaml, tuf' >/dev/null 2>&1; then
  python3 -m pip install -q cryptography pynacl jsonschema pyyaml tuf
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
