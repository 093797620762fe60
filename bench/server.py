"""The one way a streamlit server is started, by tests and benchmarks alike: `streamlit run serve.py`
(dashboard.py with its caches warmed at start), or another script given by the caller, on a free
port with SVD_DB pointing at a warehouse, ready when streamlit's own health check answers. Used by
the browser tests (the real app, and a small test app in tests/browser/test_plotly_text.py), the
map benchmarks (bench/run.py, bench/maptime.py) and the soak test (bench/soak.py), so all of them
measure and test the same server, started and stopped the same way.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


class ServerError(RuntimeError):
    """The server exited or did not answer its health check in time (the message holds its log's tail)."""


def free_port() -> int:
    """A port nothing listens on now (the OS's choice), for one server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    startup: float  # seconds from start to the first healthy answer
    proc: subprocess.Popen
    _log: IO[str] = field(repr=False)
    final_log: str = ""  # the server's whole output, once stopped

    def log(self) -> str:
        """The server's output so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()


@contextmanager
def streamlit_server(db: Path | None, *, script: str | Path = "serve.py",
                     start_timeout: float = 180.0) -> Iterator[Server]:
    """A running streamlit server for `script` (default the dashboard, `serve.py`; a relative path
    is taken from the project root) over the warehouse `db` (None: SVD_DB left as the environment
    has it); stopped (terminate, then kill) when the block ends.

    The project root is put on PYTHONPATH so a script outside it (a test's own small app) imports
    `app` and `methods` as the dashboard does. Waits on the server's health signal
    (`/_stcore/health`), never a fixed sleep; `start_timeout` only bounds how long a busy machine
    may take before `ServerError`."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if db is not None:
        env["SVD_DB"] = str(db)
    logf = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Server(url, port, 0.0, proc, logf)
    t0 = time.perf_counter()
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise ServerError(f"streamlit exited (rc {proc.returncode}): {server.log()[-2000:]}")
            if time.perf_counter() - t0 > start_timeout:
                raise ServerError(f"streamlit did not answer its health check in {start_timeout:.0f} s: "
                                  f"{server.log()[-2000:]}")
            time.sleep(0.2)
        server.startup = time.perf_counter() - t0
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.final_log = server.log()
        logf.close()
