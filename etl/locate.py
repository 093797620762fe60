"""Where each source's files come from on this run: the mirror folder, a download, or the
project's synthetic generator (clearly marked), in that order of preference."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl.checksums import sha256_file  # noqa: F401 - re-exported for the refresh
from etl.manifest import PROJECT_ROOT, Source

GENERATED_DIR = PROJECT_ROOT / "data" / "generated"
RAW_DIR = PROJECT_ROOT / "data" / "raw"


@dataclass
class Located:
    source: Source
    paths: list[Path]
    origin: str  # 'mirror', 'download', 'synthetic', 'absent'
    quality: str


def mirror_paths(source: Source, sources_dir: Path | None) -> list[Path]:
    """Files matching the source's mirror glob in the sources folder, then in data/raw/."""
    found: list[Path] = []
    for base in (sources_dir, RAW_DIR / source.id):
        if base is None or not base.exists():
            continue
        pattern = source.mirror if base == sources_dir else (source.raw or Path(source.mirror).name)
        found = sorted(p for p in base.glob(pattern) if p.is_file() and not p.name.endswith(".synthetic.json"))
        if found:
            return found
    return found


def locate(source: Source, sources_dir: Path | None) -> Located:
    paths = mirror_paths(source, sources_dir)
    if paths:
        origin = "mirror" if sources_dir and str(paths[0]).startswith(str(sources_dir)) else "download"
        return Located(source, paths, origin, source.quality)
    return Located(source, [], "absent", source.quality)
