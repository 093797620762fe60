"""Download sources from their official URLs into data/raw/<source_id>/ (`refresh --download`).

Why: a deployment without a mirror folder must still refresh from the publishers. Each download
has a timeout and retries with backoff, is written to a temporary name and renamed only when
complete, and its sha256 is recorded beside it so a changed publication is noticed.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests

from etl.errors import SourceError
from etl.locate import RAW_DIR
from etl.manifest import Source, load_manifest

TIMEOUT = (10, 120)  # connect, read seconds
RETRIES = 3


def download(url: str, dest: Path, *, source_id: str, retries: int = RETRIES, session=None) -> tuple[Path, str]:
    """Fetch `url` to `dest` atomically; return (path, sha256). Raises SourceError on failure."""
    if urlparse(url).scheme not in ("http", "https"):
        raise SourceError(f"not an http(s) URL: {url}", source_id=source_id)
    http = session or requests.Session()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with http.get(url, stream=True, timeout=TIMEOUT) as resp:
                resp.raise_for_status()
                h = hashlib.sha256()
                with open(tmp, "wb") as fh:
                    for chunk in resp.iter_content(1 << 20):
                        fh.write(chunk)
                        h.update(chunk)
                expected = resp.headers.get("Content-Length")
                if expected and int(expected) != tmp.stat().st_size:
                    raise OSError(f"incomplete download: {tmp.stat().st_size} of {expected} bytes")
            tmp.replace(dest)
            digest = h.hexdigest()
            dest.with_name(dest.name + ".sha256").write_text(json.dumps({"url": url, "sha256": digest}))
            return dest, digest
        except (requests.RequestException, OSError) as exc:
            last = exc
            tmp.unlink(missing_ok=True)
            if attempt < retries:
                time.sleep(2 ** (attempt - 1))
    raise SourceError(f"download failed after {retries} attempts: {last}", source_id=source_id,
                      file=url) from None


def download_source(source: Source, raw_dir: Path = RAW_DIR, session=None) -> list[Path]:
    """Download one single-file source whose manifest entry has fetch = "url"."""
    name = Path(source.mirror).name
    if any(ch in name for ch in "*?["):
        name = Path(urlparse(source.url).path).name or f"{source.id}.dat"
    path, _ = download(source.url, raw_dir / source.id / name, source_id=source.id, session=session)
    return [path]


def download_archives(source: Source, months: list[str], raw_dir: Path = RAW_DIR, session=None,
                      quiet: bool = False) -> list[Path]:
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
        out.append(download(url, dest, source_id=source.id, session=session)[0])
    return out


def download_all(quiet: bool = False, raw_dir: Path = RAW_DIR, months: list[str] | None = None) -> list[Path]:
    """Every single-file source with fetch = "url", and the monthly archives for `months`."""
    out = []
    for source in load_manifest():
        if source.fetch == "url" and source.url:
            if not quiet:
                print(f"downloading {source.id} from {source.url}", file=sys.stderr)
            out += download_source(source, raw_dir)
        elif source.fetch == "archive" and months:
            out += download_archives(source, months, raw_dir, quiet=quiet)
    return out
