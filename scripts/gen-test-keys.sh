#!/usr/bin/env bash
# Regenerates the key fixtures in testdata/keys/ (see testdata/keys/README.md).
#
# The fixtures come from writers that are independent of airlock, so the tests in
# src/trust/keys.rs check airlock against other implementations rather than against itself:
#   - encrypted cosign-format key pairs from the reference writer cosign_key.py
#     (Python `cryptography` + PyNaCl; set COSIGN_KEY_PY to its path);
#   - plain keys and signatures over message.txt made with Python `cryptography`.
#
# Needs: python3 with `cryptography` and `pynacl` (pip install cryptography pynacl).
# Usage: scripts/gen-test-keys.sh            (run from anywhere; writes into testdata/keys/)
#        PYTHON=/path/to/venv/bin/python COSIGN_KEY_PY=/path/to/cosign_key.py scripts/gen-test-keys.sh
# Every run makes new random keys; commit the whole directory together.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
COSIGN_KEY_PY="${COSIGN_KEY_PY:-/work/shared/tools/cosign_key.py}"
OUT="$(cd "$(dirname "$0")/.." && pwd)/testdata/keys"
# The passphrase of every encrypted fixture key (also written in testdata/keys/README.md).
export AIRLOCK_PASSWORD="test-passphrase"

if [ ! -f "$COSIGN_KEY_PY" ]; then
    echo "error: cosign_key.py not found at $COSIGN_KEY_PY; set COSIGN_KEY_PY to the reference writer" >&2
    exit 1
fi
if ! "$PYTHON" -c 'import cryptography, nacl' 2>/dev/null; then
    echo "error: $PYTHON lacks the 'cryptography' and 'pynacl' modules; run: pip install cryptography pynacl" >&2
    exit 1
fi
mkdir -p "$OUT"

# Encrypted key pairs: curve, scrypt N, PEM label.
for spec in p256:32768:COSIGN p256:65536:SIGSTORE p384:65536:SIGSTORE p384:32768:COSIGN; do
    IFS=: read -r curve n label <<<"$spec"
    lower_label="$(echo "$label" | tr '[:upper:]' '[:lower:]')"
    "$PYTHON" "$COSIGN_KEY_PY" "$OUT/cosign-$curve-n$n-$lower_label" --n "$n" --label "$label" --curve "$curve" >/dev/null
done

# Plain keys and cross-implementation signatures over message.txt.
"$PYTHON" - "$OUT" <<'PY'
import base64, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

out = sys.argv[1]
# A cosign simple-signing payload, the kind of message airlock verifies.
message = (b'{"critical":{"identity":{"docker-reference":"registry.example/app"},'
           b'"image":{"docker-manifest-digest":"sha256:'
           + b"ab" * 32
           + b'"},"type":"cosign container image signature"},"optional":null}')

def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

def pkcs8(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())

def spki(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)

def sig(name, signature):
    write(name, base64.b64encode(signature) + b"\n")

write("message.txt", message)

p256 = ec.generate_private_key(ec.SECP256R1())
write("ecdsa-p256.key", pkcs8(p256))
write("ecdsa-p256.sec1.key", p256.private_bytes(serialization.Encoding.PEM,
      serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
write("ecdsa-p256.pub", spki(p256))
sig("message.txt.ecdsa-p256.sig", p256.sign(message, ec.ECDSA(hashes.SHA256())))

p384 = ec.generate_private_key(ec.SECP384R1())
write("ecdsa-p384.pub", spki(p384))
sig("message.txt.ecdsa-p384.sig", p384.sign(message, ec.ECDSA(hashes.SHA384())))

rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write("rsa-2048.key", pkcs8(rsa2048))
write("rsa-2048.pub", spki(rsa2048))
write("rsa-2048.pkcs1.pub", rsa2048.public_key().public_bytes(serialization.Encoding.PEM,
      serialization.PublicFormat.PKCS1))
sig("message.txt.rsa-2048.sig", rsa2048.sign(message, padding.PKCS1v15(), hashes.SHA256()))

ed = ed25519.Ed25519PrivateKey.generate()
write("ed25519.key", pkcs8(ed))
write("ed25519.pub", spki(ed))
sig("message.txt.ed25519.sig", ed.sign(message))

# Keys airlock must refuse with a clear error.
write("ecdsa-p521.pub", spki(ec.generate_private_key(ec.SECP521R1())))
write("rsa-1024.pub", spki(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
PY

echo "wrote fixtures to $OUT"
