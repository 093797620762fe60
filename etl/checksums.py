"""The one way a file's sha256 is computed (lineage, change detection, synthetic sidecars)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO


def sha256_stream(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return sha256_stream(handle)
