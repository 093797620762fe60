"""The one way a file's sha256 is computed (lineage, change detection, synthetic sidecars), and
computed once per refresh.

A refresh needs the same file's digest several times: the fingerprint that decides whether
anything changed, the parser's per-file lineage (police.uk reuses an unchanged file's aggregates
by it), the synthetic sidecar check, and the `sources` / `source_files` rows; the police.uk files
alone are over 100 MB. Inside `one_run()` (the refresh wraps its whole run in it) a digest is
computed the first time it is asked for and then handed to every later asker; a digest computed
from the bytes as they were written (a download, the synthetic generator's second process) is
handed over with `remember` / `adopt` instead of being computed again. Outside a run every call
reads the file: nothing is remembered for the life of the process.

A file is known by (device, inode, size, mtime in ns), so a file replaced or rewritten between
two asks is read again, and a file renamed after it was hashed (the generator's private folder
moved into place) is not.

`SVD_HASH_TRACE=FILE` appends one line per digest computed from a file's bytes (`pid`, identity,
path, tab-separated): how the test shows each file is hashed once, across both processes.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

Identity = tuple[int, int, int, int]  # (st_dev, st_ino, st_size, st_mtime_ns)

_RUN: dict[Identity, str] | None = None
_LOCK = threading.Lock()


def sha256_stream(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def identity(path: Path) -> Identity:
    """What makes two asks about a file the same file with the same bytes."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def sha256_file(path: Path) -> str:
    """sha256 of a file: inside a run, computed once and then handed out again."""
    key = identity(path)
    with _LOCK:
        known = _RUN.get(key) if _RUN is not None else None
    if known is not None:
        return known
    with open(path, "rb") as handle:
        digest = sha256_stream(handle)
    _trace(key, path)
    with _LOCK:
        if _RUN is not None:
            _RUN[key] = digest
    return digest


def remember(path: Path, digest: str) -> None:
    """Hand over a digest computed from `path`'s bytes as they were written (a download hashed
    while streaming), so the run does not read the file again. No-op outside a run."""
    with _LOCK:
        if _RUN is not None:
            _RUN[identity(path)] = digest


def known() -> list[tuple[Identity, str]]:
    """The digests this run holds, for handing to another process's run (`adopt`)."""
    with _LOCK:
        return list((_RUN or {}).items())


def adopt(entries: Iterable[tuple[Iterable[int], str]]) -> None:
    """Take digests another process of this refresh computed (`known()` there, sent as JSON).
    No-op outside a run."""
    with _LOCK:
        if _RUN is not None:
            for key, digest in entries:
                _RUN[tuple(key)] = digest  # type: ignore[index]


@contextmanager
def one_run() -> Iterator[None]:
    """Within the block each file's digest is computed at most once. Nested blocks share the
    outermost's digests; the digests are dropped when it ends."""
    global _RUN
    with _LOCK:
        outer = _RUN is not None
        if not outer:
            _RUN = {}
    try:
        yield
    finally:
        if not outer:
            with _LOCK:
                _RUN = None


def _trace(key: Identity, path: Path) -> None:
    where = os.environ.get("SVD_HASH_TRACE")
    if where:
        with open(where, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\t{':'.join(map(str, key))}\t{path}\n")
