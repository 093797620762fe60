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


@pytest.fixture
def server():
    state = {"fail_first": 0, "calls": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            state["calls"] += 1
            if state["calls"] <= state["fail_first"] or self.path == "/always-fails":
                self.send_response(503)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", state
    httpd.shutdown()


def test_download_writes_file_and_checksum(server, tmp_path: Path):
    base, _ = server
    path, digest = download(f"{base}/data.csv", tmp_path / "x" / "data.csv", source_id="s")
    assert path.read_bytes() == BODY
    assert digest == hashlib.sha256(BODY).hexdigest()
    assert not list(tmp_path.rglob("*.part"))


def test_download_retries_then_succeeds(server, tmp_path: Path, monkeypatch):
    base, state = server
    state["fail_first"] = 2
    monkeypatch.setattr("etl.fetch.time.sleep", lambda s: None)
    path, _ = download(f"{base}/data.csv", tmp_path / "data.csv", source_id="s", retries=3)
    assert path.read_bytes() == BODY and state["calls"] == 3


def test_download_failure_names_source_and_url_and_leaves_nothing(server, tmp_path: Path, monkeypatch):
    base, _ = server
    monkeypatch.setattr("etl.fetch.time.sleep", lambda s: None)
    with pytest.raises(SourceError) as err:
        download(f"{base}/always-fails", tmp_path / "data.csv", source_id="fingertips", retries=2)
    assert "fingertips" in str(err.value) and "always-fails" in str(err.value)
    assert not list(tmp_path.iterdir())


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
    assert all(f.startswith("2018-10.zip!") for (f,) in files)
