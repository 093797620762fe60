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


_SEEN: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: Path) -> str:
    """sha256 of a file, remembered for the process by (path, inode, size, mtime): a refresh asks
    for the same file's checksum for change detection, lineage and its source row, and the
    police.uk files alone are over 100 MB."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _SEEN:
        with open(path, "rb") as handle:
            _SEEN[key] = sha256_stream(handle)
    return _SEEN[key]
