#!/usr/bin/env bash
# The whole test suite: installs what is missing (as root), then formatting, lints and tests.
# Usage: scripts/test.sh            (CI calls exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
# No compiled Python files next to the scripts the tests run.
export PYTHONDONTWRITEBYTECODE=1

pkgs=()
command -v docker-registry >/dev/null 2>&1 || pkgs+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || pkgs+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v script >/dev/null 2>&1 || pkgs+=(bsdutils)  # a pseudo-terminal for the passphrase-prompt tests
command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
command -v gpg >/dev/null 2>&1 || pkgs+=(gnupg)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
command -v faketime >/dev/null 2>&1 || pkgs+=(faketime)
command -v softhsm2-util >/dev/null 2>&1 || pkgs+=(softhsm2)  # a PKCS#11 token for the HSM key tests
[ -x /usr/bin/time ] || pkgs+=(time)  # GNU time: peak memory in benches/run.sh (not run by the tests)
command -v bc >/dev/null 2>&1 || pkgs+=(bc)  # benches/run.sh
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

# Fixtures regenerate byte for byte from the generators in this repository.
regen="$(mktemp -d)"
AIRLOCK_PASSWORD=demo cargo run -q --example gen_demo -- "$regen/demo" >/dev/null
if ! diff -r "$regen/demo" testdata/bundles/demo; then
  echo "testdata/bundles/demo differs from what examples/gen_demo writes:" >&2
  echo "  rm -rf testdata/bundles/demo && AIRLOCK_PASSWORD=demo cargo run --example gen_demo" >&2
  exit 1
fi
# The install story works from this checkout: cargo install into a throwaway root, then run it.
install_root="$(mktemp -d)"
trap 'rm -rf "$regen" "$install_root"' EXIT
CARGO_INSTALL_ROOT="$install_root" cargo install --locked --path . --quiet
"$install_root/bin/airlock" --version
