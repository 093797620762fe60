"""Where each source's files come from on this run: the mirror folder, a download, or the
project's synthetic generator (clearly marked), in that order of preference."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from etl.checksums import sha256_file
from etl.errors import SourceError
from etl.manifest import PROJECT_ROOT, Source

GENERATED_DIR = PROJECT_ROOT / "data" / "generated"
RAW_DIR = PROJECT_ROOT / "data" / "raw"


@dataclass
class Located:
    source: Source
    paths: list[Path]
    origin: str  # 'mirror', 'download', 'synthetic', 'absent'
    quality: str
    # Each file's sha256, computed once (`digest`) and then read by the fingerprint, the lineage
    # rows and, through the run's digests (`etl.checksums.one_run`), the parser.
    digests: dict[Path, str] = field(default_factory=dict, repr=False, compare=False)

    def digest(self, path: Path) -> str:
        """sha256 of one of this source's files, computed the first time it is asked for."""
        if path not in self.digests:
            self.digests[path] = sha256_file(path)
        return self.digests[path]


def mirror_patterns(source: Source) -> list[str]:
    """The source's mirror glob plus any `mirror_also` globs (police.uk: the monthly .zip
    archive dropped under police_uk/YYYY-MM/, as the runbook says)."""
    also = source.extra.get("mirror_also", [])
    return [source.mirror, *([also] if isinstance(also, str) else also)]


def mirror_paths(source: Source, sources_dir: Path | None) -> list[Path]:
    """Files matching the source's mirror globs in the sources folder, then in data/raw/.

    A file (or folder) that is a symlink leading out of the folder searched is refused: the
    sources folder is what an operator reviewed, and a link must not pull in anything else."""
    found: list[Path] = []
    for base in (sources_dir, RAW_DIR / source.id):
        if base is None or not base.exists():
            continue
        patterns = mirror_patterns(source) if base == sources_dir else [source.raw or Path(source.mirror).name]
        hits = {p for pattern in patterns for p in base.glob(pattern)}
        found = sorted(p for p in hits if p.is_file() and not p.name.endswith(".synthetic.json"))
        root = base.resolve()
        for p in found:
            if not p.resolve().is_relative_to(root):
                raise SourceError(f"{p.relative_to(base)} is a symlink leading outside the sources "
                                  f"folder (to {p.resolve()}): copy the file in instead",
                                  source_id=source.id, file=str(p))
        if found:
            return found
    return found


def locate(source: Source, sources_dir: Path | None) -> Located:
    paths = mirror_paths(source, sources_dir)
    if paths:
        origin = "mirror" if sources_dir and str(paths[0]).startswith(str(sources_dir)) else "download"
        return Located(source, paths, origin, source.quality)
    return Located(source, [], "absent", source.quality)
