#!/usr/bin/env python3
"""Check an airlock signed verification report without airlock.

Usage: scripts/check_report.py ENVELOPE PUBKEY

ENVELOPE is the file `airlock verify --report FILE --sign-key KEY` writes: a DSSE envelope
(payloadType application/vnd.in-toto+json) around an in-toto Statement v1 whose predicate is a
SLSA Verification Summary v1 with the airlock report in the URI-named extension field
"urn:airlock:report" (reports signed by earlier versions: "airlockReport").
PUBKEY is the PEM public key (ECDSA P-256/P-384, Ed25519 or RSA).

This is a second, independent implementation written from docs/report.md (not from airlock's
code): it uses only the Python standard library and `cryptography`. It checks
  1. a signature in the envelope verifies, with PUBKEY, over the DSSE v1 pre-authentication
     encoding PAE(payloadType, payload) of the exact base64-decoded payload bytes;
  2. payloadType, the statement's _type and predicateType;
  3. the predicate: verifier id, verificationResult, timeVerified and policy digest agree with
     the embedded airlock.report/v1 document, and the subject digests are exactly the digests
     that document names (images, present platforms, signature and attestation manifests, lock).

Exit status: 0 all checks hold; 1 a check fails (tampered, wrong key, inconsistent);
2 usage error or a file that cannot be read.
"""
import base64
import binascii
import hashlib
import json
import re
import sys

MAX_FILE_BYTES = 16 * 1024 * 1024  # same limit as airlock for a report file
MAX_SIGNATURES = 64

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
PREDICATE_VSA_V1 = "https://slsa.dev/verification_summary/v1"
VERIFIER_ID = "urn:airlock:verifier"
REPORT_SCHEMA = "airlock.report/v1"
DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


class Fail(Exception):
    """A check does not hold (exit 1)."""


def read_limited(path):
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Fail(f"{path}: larger than {MAX_FILE_BYTES} bytes; expected a signed report")
    return data


def b64decode(text, field):
    """Standard or URL-safe base64, padded or not (as DSSE allows)."""
    if not isinstance(text, str):
        raise Fail(f"{field}: expected a base64 string, found {type(text).__name__}")
    urlsafe = "-" in text or "_" in text
    if urlsafe and ("+" in text or "/" in text):
        raise Fail(f"{field}: mixes standard and URL-safe base64 alphabets")
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.b64decode(padded.translate(str.maketrans("-_", "+/")), validate=True)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Fail(f"{field}: not valid base64 ({e})") from None


def pae(payload_type, payload):
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify_signature(key, message, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            h = hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
            key.verify(sig, message, ec.ECDSA(h))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, message)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise Fail(f"unsupported key type {type(key).__name__}")
        return True
    except InvalidSignature:
        return False


def digest_map(d):
    if not isinstance(d, str) or not DIGEST_RE.match(d):
        return None
    alg, hexd = d.split(":", 1)
    return (alg, hexd)


def expected_digests(report):
    """The digests the report names, as documented in docs/report.md ("Subjects")."""
    out = set()

    def add(d):
        m = digest_map(d)
        if m is None and isinstance(d, str) and HEX64_RE.match(d):
            m = ("sha256", d)
        if m is not None:
            out.add(m)

    for img in report.get("images", []):
        add(img.get("digest"))
        for p in img.get("platforms", []):
            if p.get("present", True):
                add(p.get("digest"))
        for s in img.get("signatures", []):
            add(s.get("manifest"))
        for a in img.get("attestations", []):
            add(a.get("manifest"))
    lock = report.get("inputs", {}).get("lockSha256")
    if lock is not None:
        add(lock)
    return out


def check(envelope_bytes, key):
    from cryptography.hazmat.primitives import serialization

    try:
        env = json.loads(envelope_bytes)
    except ValueError as e:
        raise Fail(f"the envelope is not JSON: {e}") from None
    if not isinstance(env, dict):
        raise Fail("the envelope is not a JSON object")
    if env.get("payloadType") != PAYLOAD_TYPE:
        raise Fail(f"payloadType is {env.get('payloadType')!r}; expected {PAYLOAD_TYPE!r}")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise Fail("the envelope has no signatures")
    if len(sigs) > MAX_SIGNATURES:
        raise Fail(f"the envelope has {len(sigs)} signatures, more than {MAX_SIGNATURES}")
    payload = b64decode(env.get("payload"), "payload")
    message = pae(env["payloadType"], payload)
    ok = False
    for i, s in enumerate(sigs):
        if not isinstance(s, dict):
            raise Fail(f"signatures[{i}] is not an object")
        if verify_signature(key, message, b64decode(s.get("sig"), f"signatures[{i}].sig")):
            ok = True
            break
    if not ok:
        raise Fail("no signature verifies with the key over PAE(payloadType, payload)")

    try:
        st = json.loads(payload)
    except ValueError as e:
        raise Fail(f"the payload is not JSON: {e}") from None
    if not isinstance(st, dict):
        raise Fail("the statement is not a JSON object")
    if st.get("_type") != STATEMENT_V1:
        raise Fail(f"_type is {st.get('_type')!r}; expected {STATEMENT_V1!r}")
    if st.get("predicateType") != PREDICATE_VSA_V1:
        raise Fail(f"predicateType is {st.get('predicateType')!r}; expected {PREDICATE_VSA_V1!r}")
    subjects = st.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise Fail("the statement has no subjects")
    got = []
    for i, s in enumerate(subjects):
        dig = s.get("digest") if isinstance(s, dict) else None
        if not isinstance(dig, dict) or not dig:
            raise Fail(f"subject[{i}] has no digest")
        for alg, hexd in dig.items():
            got.append((alg, hexd))
    pred = st.get("predicate")
    if not isinstance(pred, dict):
        raise Fail("the predicate is not a JSON object")
    report = pred.get("urn:airlock:report", pred.get("airlockReport"))
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        raise Fail(f"predicate[\"urn:airlock:report\"] is not an {REPORT_SCHEMA} document")
    verifier = pred.get("verifier") or {}
    if verifier.get("id") != VERIFIER_ID:
        raise Fail(f"verifier.id is {verifier.get('id')!r}; expected {VERIFIER_ID!r}")
    result = pred.get("verificationResult")
    want_result = {"pass": "PASSED", "fail": "FAILED"}.get(report.get("result"))
    if want_result is None or result != want_result:
        raise Fail(
            f"verificationResult {result!r} does not match the report's result {report.get('result')!r}"
        )
    want_levels = ["FAILED"] if result == "FAILED" else []
    if pred.get("verifiedLevels", []) != want_levels:
        raise Fail(f"verifiedLevels is {pred.get('verifiedLevels')!r}; expected {want_levels!r}")
    for i, a in enumerate(pred.get("inputAttestations") or []):
        if not isinstance(a, dict) or not a.get("uri") or not a.get("digest"):
            raise Fail(f"inputAttestations[{i}] lacks a uri or a digest")
    if pred.get("timeVerified") != report.get("time"):
        raise Fail("timeVerified differs from the report's time")
    policy_sha = ((pred.get("policy") or {}).get("digest") or {}).get("sha256")
    report_sha = (report.get("policy") or {}).get("sha256", "")
    if policy_sha != report_sha.removeprefix("sha256:"):
        raise Fail("policy.digest.sha256 differs from the report's policy sha256")
    want = expected_digests(report)
    if len(got) != len(set(got)) or set(got) != want:
        missing = sorted(want - set(got))
        extra = sorted(set(got) - want)
        raise Fail(
            f"subject digests do not match the report: missing {len(missing)}, extra {len(extra)}"
        )
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "keyId": "sha256:" + hashlib.sha256(spki).hexdigest(),
        "timeVerified": pred.get("timeVerified"),
        "verificationResult": result,
        "subjects": len(got),
    }


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        print("check_report.py: needs the Python 'cryptography' package (pip install cryptography)",
              file=sys.stderr)
        return 2
    env_path, key_path = argv[1], argv[2]
    try:
        with open(key_path, "rb") as f:
            key = serialization.load_pem_public_key(f.read(64 * 1024))
    except (OSError, ValueError) as e:
        print(f"check_report.py: cannot load public key {key_path}: {e}", file=sys.stderr)
        return 2
    try:
        data = read_limited(env_path)
    except OSError as e:
        print(f"check_report.py: cannot read {env_path}: {e}", file=sys.stderr)
        return 2
    try:
        info = check(data, key)
    except Fail as e:
        print(f"FAILED: {env_path}: {e}")
        return 1
    print(
        f"OK: {env_path}: signed by {info['keyId']}, time verified {info['timeVerified']}, "
        f"result {info['verificationResult']}, {info['subjects']} subject digest(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
