"""Read the source manifest (`data/sources.toml`): the one list of what the refresh loads."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = PROJECT_ROOT / "data" / "sources.toml"
REQUIRED = ("id", "family", "publisher", "title", "url", "licence", "attribution", "format",
            "cadence", "mirror", "parser", "quality")


@dataclass(frozen=True)
class Source:
    id: str
    family: str
    publisher: str
    title: str
    url: str
    licence: str
    attribution: str
    format: str
    cadence: str
    mirror: str
    parser: str
    quality: str
    default: bool = True
    synthetic: str | None = None
    fetch: str | None = None  # "url": one file at `url`; "archive": one zip per month (`url` has {month})
    raw: str | None = None  # glob for downloaded files in data/raw/<id>/ when not the mirror's file name
    extra: dict = field(default_factory=dict, hash=False, compare=False)


def load_manifest(path: Path = MANIFEST_PATH) -> list[Source]:
    """All sources, in manifest order; a missing field is an error naming the source."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = []
    for entry in data.get("source", []):
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise ValueError(f"{path}: source {entry.get('id', '?')} lacks {', '.join(missing)}")
        known = {k: entry[k] for k in Source.__dataclass_fields__ if k in entry and k != "extra"}
        extra = {k: v for k, v in entry.items() if k not in Source.__dataclass_fields__}
        sources.append(Source(**known, extra=extra))
    ids = [s.id for s in sources]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate source ids")
    return sources


def source_by_id(source_id: str, sources: list[Source] | None = None) -> Source:
    for s in sources or load_manifest():
        if s.id == source_id:
            return s
    raise KeyError(source_id)
