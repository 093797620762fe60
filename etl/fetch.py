"""Download sources from their official URLs into data/raw/<source_id>/ (`refresh --download`).

Why: a deployment without a mirror folder must still refresh from the publishers, and a bad
answer from a publisher (an HTML error page served with 200, a body cut short, a trickle that
never ends) must never replace the last good file. So each download:

* goes through `requests` with urllib3 `Retry` (exponential backoff, `Retry-After` respected,
  connection errors and 429/5xx retried, other 4xx never retried);
* has an overall deadline, checked between reads, each read waiting at most what is left;
* is written to a temporary name beside the destination; the bytes actually written are
  compared with what was received (the wire byte count against `Content-Length`, which for a
  gzip `Content-Encoding` is the compressed length - never the decoded one);
* is sniffed against the format the manifest declares (a workbook or archive is a zip that
  opens, a gz decompresses to its end, a CSV is text and not HTML, GeoJSON parses), which also
  catches a body truncated without `Content-Length`;
* is checked against the sha256 recorded in `data/sources.toml` when one is given;
* and only then replaces the destination with `os.replace`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from etl.checksums import remember
from etl.errors import SourceError
from etl.locate import RAW_DIR
from etl.manifest import Source, load_manifest

TIMEOUT = (10, 120)  # connect, read seconds (each read; the deadline bounds the whole download)
RETRIES = 3
BACKOFF = 1.0  # seconds; urllib3 waits BACKOFF * 2**(n-1) between attempts
DEADLINE = 30 * 60.0  # seconds for one file, all attempts included
RETRY_STATUS = (429, 500, 502, 503, 504)  # 429 is "come back later", the one 4xx worth retrying
CHUNK = 1 << 16
_HTML_STARTS = (b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<!--", b"<title", b"<script")


def make_session(retries: int = RETRIES, backoff: float = BACKOFF, deadline: float = DEADLINE) -> requests.Session:
    """A session whose adapter retries connection failures and 429/5xx with backoff."""
    retry = Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                  backoff_factor=backoff, status_forcelist=RETRY_STATUS, allowed_methods={"GET"},
                  respect_retry_after_header=True, raise_on_status=False,
                  retry_after_max=min(deadline, Retry.DEFAULT_RETRY_AFTER_MAX))
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def expected_kind(fmt: str, dest: Path) -> str:
    """'zip', 'gzip', 'json', 'csv' or '' (unknown: no sniffing) from the manifest's `format`
    text, the destination's suffix deciding when it is explicit."""
    suffix = dest.suffix.lower()
    if suffix in (".zip", ".xlsx", ".ods"):
        return "zip"
    if suffix == ".gz":
        return "gzip"
    low = fmt.lower()
    if any(w in low for w in ("excel", "workbook", "spreadsheet", "xlsx", ".zip archive")):
        return "zip"
    if "geojson" in low or suffix in (".geojson", ".json"):
        return "json"
    if "csv" in low or suffix == ".csv":
        return "csv"
    return ""


def sniff(path: Path, kind: str) -> str | None:
    """Why the file at `path` is not a complete file of `kind`, or None when it is."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "the server sent an empty body"
    if head.lstrip()[:16].lower().startswith(_HTML_STARTS):
        return "the server sent an HTML page, not the data file (an error or login page?)"
    if kind == "zip":
        if not head.startswith(b"PK\x03\x04"):
            return "not a zip/workbook file (no zip signature)"
        try:
            with zipfile.ZipFile(path) as z:
                if not z.namelist():
                    return "the zip archive is empty"
        except (zipfile.BadZipFile, OSError) as exc:
            return f"the zip/workbook does not open, probably truncated ({exc})"
    elif kind == "gzip":
        if not head.startswith(b"\x1f\x8b"):
            return "not a gzip file (no gzip magic)"
        try:
            with gzip.open(path, "rb") as gz:
                while gz.read(1 << 20):
                    pass
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            return f"the gzip file does not decompress to its end, probably truncated ({exc})"
    elif kind == "json":
        try:
            with open(path, "rb") as fh:
                json.load(fh)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"not valid JSON, probably truncated ({exc})"
    elif kind == "csv":
        if b"\x00" in head or head.startswith((b"PK\x03\x04", b"\x1f\x8b")):
            return "binary content where a CSV was expected"
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a multi-byte character cut by the 4 KB window is fine
                return "not UTF-8 text where a CSV was expected"
    return None


class _Refused(Exception):
    """The answer is wrong in a way another attempt will not fix (HTML page, wrong sha256, 4xx)."""


def download(url: str, dest: Path, *, source_id: str, retries: int = RETRIES, session=None,
             kind: str = "", sha256: str | None = None, deadline: float = DEADLINE,
             timeout: tuple[float, float] = TIMEOUT, backoff: float = BACKOFF) -> tuple[Path, str]:
    """Fetch `url` to `dest` atomically; return (path, sha256). Raises SourceError on failure,
    leaving `dest` exactly as it was (see module docstring)."""
    if urlparse(url).scheme not in ("http", "https"):
        raise SourceError(f"not an http(s) URL: {url}", source_id=source_id)
    http = session or make_session(retries, backoff, deadline)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    stop = time.monotonic() + deadline
    last: Exception | None = None
    attempts = 0
    try:
        while attempts < max(1, retries):
            attempts += 1
            try:
                digest = _fetch_once(http, url, tmp, stop, timeout)
                problem = sniff(tmp, kind)
                if problem:
                    raise _Refused(problem)
                if sha256 and digest != sha256.lower():
                    raise _Refused(f"sha256 {digest} differs from the {sha256} recorded in "
                                   "data/sources.toml")
                os.replace(tmp, dest)
                remember(dest, digest)  # hashed as it was written: the refresh does not read it again
                dest.with_name(dest.name + ".sha256").write_text(json.dumps({"url": url, "sha256": digest}))
                return dest, digest
            except _Refused as exc:
                raise SourceError(f"download refused, the last good file is kept: {exc}",
                                  source_id=source_id, file=url) from None
            except requests.HTTPError as exc:  # 5xx/429 still failing after the adapter's retries
                last = exc
                break
            except (requests.RequestException, Urllib3Error, OSError) as exc:  # cut off mid-body: again
                last = exc
                tmp.unlink(missing_ok=True)
                if time.monotonic() >= stop:
                    break
                if attempts < retries:
                    time.sleep(min(backoff * 2 ** (attempts - 1), max(0.0, stop - time.monotonic())))
    finally:
        tmp.unlink(missing_ok=True)
    if time.monotonic() >= stop:
        raise SourceError(f"download took longer than the {deadline:g} s deadline ({last}); the "
                          "last good file is kept", source_id=source_id, file=url) from None
    raise SourceError(f"download failed after {attempts} attempts: {last}", source_id=source_id,
                      file=url) from None


def _fetch_once(http: requests.Session, url: str, tmp: Path, stop: float,
                timeout: tuple[float, float]) -> str:
    """One GET streamed to `tmp`; returns the sha256 of the bytes written."""
    left = stop - time.monotonic()
    if left <= 0:
        raise requests.Timeout("deadline reached before the request")
    with http.get(url, stream=True, timeout=(min(timeout[0], left), min(timeout[1], left))) as resp:
        if 400 <= resp.status_code < 500 and resp.status_code != 429:
            raise _Refused(f"HTTP {resp.status_code} {resp.reason}")
        resp.raise_for_status()
        raw = resp.raw
        h, written = hashlib.sha256(), 0
        with open(tmp, "wb") as fh:
            while True:
                if time.monotonic() >= stop:
                    raise requests.Timeout("overall deadline exceeded while receiving")
                chunk = raw.read1(CHUNK, decode_content=True)
                if not chunk:
                    break
                fh.write(chunk)
                h.update(chunk)
                written += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if tmp.stat().st_size != written:
            raise OSError(f"wrote {tmp.stat().st_size} bytes of the {written} received")
        declared = resp.headers.get("Content-Length")
        # raw.tell() counts bytes taken off the wire: the compressed size under gzip encoding,
        # which is what Content-Length describes.
        if declared and declared.isdigit() and raw.tell() != int(declared):
            raise OSError(f"incomplete download: {raw.tell()} of {declared} bytes")
    return h.hexdigest()


def _manifest_sha(source: Source, key: str | None = None) -> str | None:
    value = source.extra.get("sha256")
    if isinstance(value, dict):
        return value.get(key) if key else None
    return value or None


def download_source(source: Source, raw_dir: Path = RAW_DIR, session=None, **kw) -> list[Path]:
    """Download one single-file source whose manifest entry has fetch = "url"."""
    name = Path(source.mirror).name
    if any(ch in name for ch in "*?["):
        name = Path(urlparse(source.url).path).name or f"{source.id}.dat"
    dest = raw_dir / source.id / name
    path, _ = download(source.url, dest, source_id=source.id, session=session,
                       kind=expected_kind(source.format, dest), sha256=_manifest_sha(source), **kw)
    return [path]


def download_archives(source: Source, months: list[str], raw_dir: Path = RAW_DIR, session=None,
                      quiet: bool = False, **kw) -> list[Path]:
    """Monthly archives (police.uk: `https://data.police.uk/data/archive/YYYY-MM.zip`) into
    data/raw/<source_id>/YYYY-MM.zip; a month already downloaded is not fetched again."""
    out = []
    for month in months:
        dest = raw_dir / source.id / f"{month}.zip"
        if dest.exists():
            out.append(dest)
            continue
        url = source.url.format(month=month)
        if not quiet:
            print(f"downloading {source.id} {month} from {url}", file=sys.stderr)
        out.append(download(url, dest, source_id=source.id, session=session, kind="zip",
                            sha256=_manifest_sha(source, month), **kw)[0])
    return out


def download_all(quiet: bool = False, raw_dir: Path = RAW_DIR, months: list[str] | None = None) -> list[Path]:
    """Every single-file source with fetch = "url", and the monthly archives for `months`.
    The refresh calls this inside its lock (`refresh(download=True)`)."""
    out = []
    for source in load_manifest():
        if source.fetch == "url" and source.url:
            if not quiet:
                print(f"downloading {source.id} from {source.url}", file=sys.stderr)
            out += download_source(source, raw_dir)
        elif source.fetch == "archive" and months:
            out += download_archives(source, months, raw_dir, quiet=quiet)
    return out
