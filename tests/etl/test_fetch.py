"""Downloads: atomic write, checksum, retry on failure, clear error when the server keeps failing."""
from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from etl.errors import SourceError
from etl.fetch import download

BODY = b"Indicator ID,Indicator Name\n11201,Hospital admissions for violence\n"
HTML = b"<!DOCTYPE html><html><body>Service unavailable, please try later</body></html>"


def _zip_bytes() -> bytes:
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("2018-10/2018-10-kent-street.csv", BODY * 200)
    return buf.getvalue()


ZIP = _zip_bytes()


@pytest.fixture
def server():
    """A local server whose paths each misbehave in one way; `state` counts calls per path."""
    state = {"fail_first": 0, "calls": 0, "paths": [], "times": []}
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, headers: dict | None = None, length: int | None = None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - http.server API
            import gzip
            import time
            state["calls"] += 1
            state["paths"].append(self.path)
            state["times"].append(time.monotonic())
            p = self.path
            if state["calls"] <= state["fail_first"] or p == "/always-fails":
                return self._send(503, b"", {"Retry-After": "0"}, 0)
            if p == "/retry-after" and state["calls"] == 1:
                return self._send(503, b"", {"Retry-After": "1"}, 0)
            if p == "/html":
                return self._send(200, HTML, {"Content-Type": "text/html"}, len(HTML))
            if p == "/missing":
                return self._send(404, b"not found", length=9)
            if p == "/forbidden":
                return self._send(403, b"no", length=2)
            if p == "/redirect":
                return self._send(302, b"", {"Location": "/data.csv"}, 0)
            if p == "/gzip":
                packed = gzip.compress(BODY * 50)
                return self._send(200, packed, {"Content-Encoding": "gzip"}, len(packed))
            if p == "/short-declared":  # says 1000 bytes, sends fewer, closes
                return self._send(200, BODY, length=1000)
            if p == "/truncated.zip":  # no Content-Length; connection closed half-way
                return self._send(200, ZIP[: len(ZIP) // 2])
            if p == "/archive.zip":
                return self._send(200, ZIP, length=len(ZIP))
            if p == "/slow":  # trickles forever until the client goes away
                self.send_response(200)
                self.end_headers()
                try:
                    while not stop.wait(0.02):
                        self.wfile.write(b"a,")
                        self.wfile.flush()
                except OSError:
                    pass
                return None
            return self._send(200, BODY, length=len(BODY))

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", state
    stop.set()
    httpd.shutdown()


@pytest.fixture
def last_good(tmp_path: Path):
    """A previously downloaded good file, whose bytes must survive every refused download."""
    dest = tmp_path / "raw" / "data.csv"
    dest.parent.mkdir()
    good = b"Indicator ID,Indicator Name\n1,previous good file\n"
    dest.write_bytes(good)
    return dest, hashlib.sha256(good).hexdigest()


def _unchanged(dest: Path, digest: str) -> bool:
    return hashlib.sha256(dest.read_bytes()).hexdigest() == digest and \
        [p.name for p in dest.parent.iterdir()] == [dest.name]


def test_download_writes_file_and_checksum(server, tmp_path: Path):
    base, _ = server
    path, digest = download(f"{base}/data.csv", tmp_path / "x" / "data.csv", source_id="s", kind="csv")
    assert path.read_bytes() == BODY
    assert digest == hashlib.sha256(BODY).hexdigest()
    assert not [p for p in (tmp_path / "x").iterdir() if "part" in p.name]


def test_download_retries_5xx_then_succeeds(server, tmp_path: Path):
    base, state = server
    state["fail_first"] = 2
    path, _ = download(f"{base}/data.csv", tmp_path / "data.csv", source_id="s", retries=3, backoff=0)
    assert path.read_bytes() == BODY and state["calls"] == 3


def test_retry_after_is_respected(server, tmp_path: Path):
    base, state = server
    download(f"{base}/retry-after", tmp_path / "data.csv", source_id="s", backoff=0)
    assert state["calls"] == 2
    assert state["times"][1] - state["times"][0] >= 0.9  # the server asked for 1 s


def test_download_failure_names_source_and_url_and_leaves_nothing(server, tmp_path: Path):
    base, _ = server
    with pytest.raises(SourceError) as err:
        download(f"{base}/always-fails", tmp_path / "data.csv", source_id="fingertips", retries=2, backoff=0)
    assert "fingertips" in str(err.value) and "always-fails" in str(err.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("path", ["/missing", "/forbidden"])
def test_4xx_is_not_retried_and_keeps_last_good(server, last_good, path):
    base, state = server
    dest, digest = last_good
    with pytest.raises(SourceError, match=r"HTTP 40[34]"):
        download(f"{base}{path}", dest, source_id="s", kind="csv", backoff=0)
    assert state["calls"] == 1
    assert _unchanged(dest, digest)


@pytest.mark.parametrize("path, kw, match", [
    ("/always-fails", {"retries": 2}, "503"),
    # says 1000 bytes, sends fewer: a cut-off body is tried again, then given up
    ("/short-declared", {"retries": 2}, "failed after 2 attempts"),
    ("/slow", {"deadline": 0.3}, "deadline"),
], ids=["5xx_exhausted", "body_shorter_than_content_length", "slow_trickle_past_deadline"])
def test_failed_download_keeps_last_good(server, last_good, path, kw, match):
    base, _ = server
    dest, digest = last_good
    with pytest.raises(SourceError, match=match):
        download(f"{base}{path}", dest, source_id="s", kind="csv", backoff=0, **kw)
    assert _unchanged(dest, digest)


@pytest.mark.parametrize("kind", ["csv", "zip", "json", "gzip", ""])
def test_html_page_served_with_200_never_overwrites(server, last_good, kind):
    base, _ = server
    dest, digest = last_good
    with pytest.raises(SourceError, match="HTML page") as err:
        download(f"{base}/html", dest, source_id="fingertips", kind=kind)
    assert "last good file is kept" in str(err.value)
    assert _unchanged(dest, digest)


def test_truncated_zip_without_content_length_is_refused(server, tmp_path: Path):
    base, _ = server
    dest = tmp_path / "2018-10.zip"
    dest.write_bytes(ZIP)
    digest = hashlib.sha256(ZIP).hexdigest()
    with pytest.raises(SourceError, match="does not open"):
        download(f"{base}/truncated.zip", dest, source_id="police_uk_street", kind="zip")
    assert _unchanged(dest, digest)


def test_gzip_encoded_response_is_decoded_and_accepted(server, tmp_path: Path):
    """Content-Length is the compressed size; the file holds the decoded bytes."""
    base, _ = server
    path, digest = download(f"{base}/gzip", tmp_path / "data.csv", source_id="s", kind="csv")
    assert path.read_bytes() == BODY * 50
    assert digest == hashlib.sha256(BODY * 50).hexdigest()


def test_redirect_is_followed(server, tmp_path: Path):
    base, state = server
    path, _ = download(f"{base}/redirect", tmp_path / "data.csv", source_id="s", kind="csv")
    assert path.read_bytes() == BODY and state["paths"] == ["/redirect", "/data.csv"]


def test_manifest_sha256_is_checked(server, last_good):
    base, _ = server
    dest, digest = last_good
    with pytest.raises(SourceError, match="sha256"):
        download(f"{base}/data.csv", dest, source_id="s", kind="csv", sha256="0" * 64)
    assert _unchanged(dest, digest)
    path, got = download(f"{base}/data.csv", dest, source_id="s", kind="csv",
                         sha256=hashlib.sha256(BODY).hexdigest())
    assert path.read_bytes() == BODY and got == hashlib.sha256(BODY).hexdigest()


def test_zip_declared_source_accepts_a_real_zip(server, tmp_path: Path):
    base, _ = server
    path, _ = download(f"{base}/archive.zip", tmp_path / "a.zip", source_id="s", kind="zip")
    assert path.read_bytes() == ZIP


def test_expected_kind_from_manifest_formats():
    from etl.fetch import expected_kind
    from etl.manifest import load_manifest
    kinds = {s.id: expected_kind(s.format, Path(s.mirror.replace("*", "x"))) for s in load_manifest()}
    assert kinds["ons_mye_2021"] == "zip"  # an .xlsx workbook
    assert kinds["fingertips_violence_admissions"] == "csv"
    assert kinds["ons_lad_boundaries_2022"] == "json"
    assert expected_kind("CSV per force and month", Path("2018-10.zip")) == "zip"
    assert expected_kind("CSV", Path("x.csv.gz")) == "gzip"


def test_refresh_downloads_inside_the_lock(tmp_path: Path, monkeypatch):
    """A refresh given download=True fetches only once it holds the lock: a second refresh
    while one holds the lock downloads nothing."""
    from etl.errors import RefreshError
    from etl.refresh import refresh
    from etl.warehouse import refresh_lock

    calls = []
    monkeypatch.setattr("etl.fetch.download_all", lambda **kw: calls.append(kw))
    db = tmp_path / "wh" / "warehouse.duckdb"
    db.parent.mkdir()
    with refresh_lock(db), pytest.raises(RefreshError, match="another refresh"):
        refresh(tmp_path, db, quiet=True, download=True)
    assert calls == []
    with pytest.raises(SourceError):  # empty sources folder: fails after downloading
        refresh(tmp_path, db, quiet=True, download=True, months=["2018-10"])
    assert calls == [{"quiet": True, "months": ["2018-10"]}]


def test_police_archive_download_then_refresh_reads_the_zip(mirror, tmp_path: Path, monkeypatch):
    """A monthly data.police.uk archive, downloaded over HTTP, is read like the mirror's files:
    the same counts as the same records given as .csv.gz."""
    import dataclasses
    import io
    import zipfile

    import duckdb

    from etl.fetch import download_archives
    from etl.manifest import source_by_id
    from etl.refresh import refresh
    from tests.fixture_mirror import STREET, build_fixture_mirror, street_csv

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for (slug, name, month), rows in STREET.items():
            if month == "2018-10":
                z.writestr(f"{month}/{month}-{slug}-street.csv", street_csv(name, month, rows))
                z.writestr(f"{month}/{month}-{slug}-outcomes.csv", "Crime ID,Month\n")
    archive = buf.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200 if self.path == "/archive/2018-10.zip" else 404)
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            self.wfile.write(archive)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        src = dataclasses.replace(source_by_id("police_uk_street"),
                                  url=f"http://127.0.0.1:{httpd.server_port}/archive/{{month}}.zip")
        raw = tmp_path / "raw"
        (zip_path,) = download_archives(src, ["2018-10"], raw, quiet=True)
    finally:
        httpd.shutdown()
    assert zip_path.name == "2018-10.zip"

    # mirror without police files: the refresh falls back to data/raw/police_uk_street/*.zip
    plain = build_fixture_mirror(mirror, tmp_path / "mirror")
    import shutil
    shutil.rmtree(plain / "police_uk")
    monkeypatch.setattr("etl.locate.RAW_DIR", raw)
    db = tmp_path / "wh" / "warehouse.duckdb"
    refresh(plain, db, quiet=True)
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.execute("SELECT area_code, count FROM observations WHERE indicator_id = "
                           "'police_uk_possession_of_weapons' AND period_label = '2018-10' "
                           "AND area_code IN ('E22000308', 'E22000138', 'E23000029')").fetchall())
    files = con.execute("SELECT file_name FROM source_files WHERE source_id = 'police_uk_street'").fetchall()
    con.close()
    assert got == {"E22000308": 3, "E22000138": 5, "E23000029": 10}
    assert len(files) > 0, "nothing to check: an empty result must not pass"
    assert all(f.startswith("2018-10.zip!") for (f,) in files)
