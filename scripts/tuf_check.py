#!/usr/bin/env python3
"""Independent check of a TUF repository snapshot with python-tuf (pip install tuf).

Usage: tuf_check.py DIR ROOT_JSON AT

Verifies DIR (timestamp.json, N.snapshot.json, N.targets.json, optional N.root.json rotations,
targets/<sha256>.trusted_root.json) from the trusted ROOT_JSON, offline, as of AT (RFC 3339),
with python-tuf's TrustedMetadataSet, then the trusted_root.json target's length and hashes.
Prints one word and exits: "ok" (0), "stale" (1: metadata expired at AT), "invalid" (1: any
other verification failure), or a usage/setup error (2).
"""
import datetime
import os
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        from tuf.api import exceptions
        from tuf.api.metadata import Metadata
        from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
        from tuf.ngclient.config import EnvelopeType
    except ImportError as e:
        print(f"tuf_check.py: needs python-tuf (pip install tuf): {e}", file=sys.stderr)
        return 2
    repo, root_path, at = argv[1], argv[2], argv[3]
    when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))

    def read(name):
        with open(os.path.join(repo, name), "rb") as f:
            return f.read()

    with open(root_path, "rb") as f:
        root = f.read()
    try:
        ms = TrustedMetadataSet(root, EnvelopeType.METADATA)
        ms.reference_time = when
        # Root rotations: N.root.json after the trusted version, as long as they exist.
        while True:
            name = f"{ms.root.version + 1}.root.json"
            if not os.path.exists(os.path.join(repo, name)):
                break
            ms.update_root(read(name))
        if ms.root.is_expired(when):
            raise exceptions.ExpiredMetadataError("root expired")
        ms.update_timestamp(read("timestamp.json"))
        snap_version = ms.timestamp.snapshot_meta.version
        snap_name = (
            f"{snap_version}.snapshot.json" if ms.root.consistent_snapshot else "snapshot.json"
        )
        ms.update_snapshot(read(snap_name))
        targets_version = ms.snapshot.meta["targets.json"].version
        targets_name = (
            f"{targets_version}.targets.json" if ms.root.consistent_snapshot else "targets.json"
        )
        ms.update_targets(read(targets_name))
        target = ms.targets.targets.get("trusted_root.json")
        if target is None:
            raise exceptions.RepositoryError("no trusted_root.json target")
        digest = target.hashes.get("sha256")
        data = read(os.path.join("targets", f"{digest}.trusted_root.json"))
        target.verify_length_and_hashes(data)
    except exceptions.ExpiredMetadataError as e:
        print(f"stale: {e}")
        return 1
    except (exceptions.RepositoryError, exceptions.LengthOrHashMismatchError, ValueError,
            KeyError, OSError) as e:
        print(f"invalid: {type(e).__name__}: {e}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
