"""Each file is hashed once per refresh (etl/checksums.py): the fingerprint, the parsers, the
synthetic sidecar check and the lineage rows all get the one digest, across the refresh's two
processes (the synthetic generator hands over the digests it wrote its sidecars with). And the
digests handed along are the files' real sha256, worked out here with hashlib from the bytes."""
from __future__ import annotations

import ast
import hashlib
from collections import Counter
from pathlib import Path

import pytest

from etl import checksums
from etl.refresh import refresh
from etl.warehouse import open_read_only
from tests.fixture_mirror import build_fixture_mirror

ROOT = Path(__file__).resolve().parents[2]


def read_trace(trace: Path) -> list[tuple[str, str, str]]:
    return [tuple(line.split("\t")) for line in trace.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def traced_refresh(mirror, tmp_path_factory):
    """A first refresh of the fixture mirror with every digest computation logged."""
    base = tmp_path_factory.mktemp("hash_once")
    src = build_fixture_mirror(mirror, base / "mirror")
    db, trace = base / "wh" / "warehouse.duckdb", base / "hashes.tsv"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SVD_HASH_TRACE", str(trace))  # inherited by the generator's process
        assert refresh(src, db, quiet=True).status == "built"
    return src, db, read_trace(trace)


def test_no_file_is_hashed_twice_in_a_refresh(traced_refresh):
    src, db, trace = traced_refresh
    per_file = Counter(identity for _, identity, _ in trace)
    twice = {path: per_file[identity] for _, identity, path in trace if per_file[identity] > 1}
    assert not twice, f"hashed more than once in one refresh: {twice}"
    # Not vacuous: every file of the mirror the refresh read was hashed, once.
    mirror_files = {str(p) for p in src.rglob("*") if p.is_file() and p.name != "MANIFEST.md"}
    hashed = {path for _, _, path in trace}
    assert mirror_files <= hashed, sorted(mirror_files - hashed)


def test_synthetic_files_are_hashed_once_across_both_processes(traced_refresh):
    _, db, trace = traced_refresh
    generated = [(pid, path) for pid, _, path in trace if "/generated/" in path]
    assert generated, "the fixture mirror has sources with synthetic stand-ins"
    pids = {pid for pid, _, path in trace if "/generated/" not in path}
    # hashed by the generator while writing the sidecars, not again by the refresh's process
    assert {pid for pid, _ in generated}.isdisjoint(pids)


def test_the_digests_handed_along_are_the_files_sha256(traced_refresh):
    src, db, _ = traced_refresh
    con = open_read_only(db)
    try:
        rows = con.execute("SELECT source_id, file_name, sha256 FROM wh.source_files").fetchall()
    finally:
        con.close()
    by_name = {p.name: p for p in src.rglob("*") if p.is_file()}
    by_name |= {p.name: p for p in (db.parent / "generated").rglob("*") if p.is_file()}
    checked = 0
    for source_id, name, digest in rows:
        if name in by_name:
            assert digest == hashlib.sha256(by_name[name].read_bytes()).hexdigest(), (source_id, name)
            checked += 1
    assert checked >= 15


def test_a_digest_is_computed_once_in_a_run_and_read_again_outside(tmp_path, monkeypatch):
    f = tmp_path / "a.csv"
    f.write_bytes(b"x,y\n1,2\n")
    calls: list[str] = []
    real = checksums.sha256_stream
    monkeypatch.setattr(checksums, "sha256_stream", lambda h: calls.append(h.name) or real(h))
    expected = hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    with checksums.one_run():
        assert checksums.sha256_file(f) == checksums.sha256_file(f) == expected
        assert len(calls) == 1
        f.write_bytes(b"x,y\n1,2\n3,4\n")  # rewritten: other bytes, read again
        assert checksums.sha256_file(f) == hashlib.sha256(b"x,y\n1,2\n3,4\n").hexdigest()
        assert len(calls) == 2
        moved = f.rename(tmp_path / "b.csv")  # renamed: same file, not read again
        checksums.sha256_file(moved)
        assert len(calls) == 2
    checksums.sha256_file(moved)
    checksums.sha256_file(moved)
    assert len(calls) == 4  # outside a run nothing is remembered


def test_a_downloaded_file_is_not_read_again(tmp_path, monkeypatch):
    f = tmp_path / "download.csv"
    f.write_bytes(b"a\n")
    monkeypatch.setattr(checksums, "sha256_stream", lambda h: pytest.fail("read again"))
    with checksums.one_run():
        checksums.remember(f, "d" * 64)
        assert checksums.sha256_file(f) == "d" * 64
        entries = checksums.known()
    with checksums.one_run():  # another process's run, given the first's digests
        checksums.adopt([(list(k), v) for k, v in entries])
        assert checksums.sha256_file(f) == "d" * 64


def _hashes_file_bytes(node: ast.AST) -> bool:
    """`hashlib.sha256(x.read_bytes())`, `hashlib.file_digest(...)` or `hashlib.new(..., x.read_bytes())`."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    if node.func.attr == "file_digest":
        return True
    return any(isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute) and a.func.attr == "read_bytes"
               for a in node.args) and isinstance(node.func.value, ast.Name) and node.func.value.id == "hashlib"


def test_source_files_are_hashed_only_through_etl_checksums():
    """A parser hashing its file with hashlib itself would hash it a second time in the refresh."""
    offenders = []
    for f in sorted((ROOT / "etl").rglob("*.py")):
        if f.name == "checksums.py":
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if _hashes_file_bytes(node):
                offenders.append(f"{f.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders
    assert _hashes_file_bytes(ast.parse("hashlib.sha256(path.read_bytes()).hexdigest()").body[0].value.func.value)
