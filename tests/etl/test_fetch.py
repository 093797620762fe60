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
