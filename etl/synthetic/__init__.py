"""Deterministic synthetic stand-ins for publications no real file exists for on this machine.

Each generator writes files in exactly the publisher's (or, for ISTV, the project's documented)
layout, so the real parser is exercised end to end, and marks every file it writes with a
sidecar `<stem>.synthetic.json` (see `etl.synthetic.sidecar`), the one marking mechanism the
parsers recognise: values read from such a file carry quality = 'synthetic'.

Names match `synthetic = ...` in data/sources.toml. Generator modules are imported lazily so
that parsers can import `etl.synthetic.sidecar` without importing the generators (which import
the parsers' layout constants).
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from etl.geocontext import GeoContext

GENERATORS: dict[str, tuple[str, str]] = {
    "istv": ("etl.synthetic.istv", "generate"),
    "fingertips_violence": ("etl.synthetic.fingertips", "generate_violence"),
    "fingertips_drug_treatment": ("etl.synthetic.fingertips", "generate_drug_treatment"),
}


def generate(name: str, geo: GeoContext, out_dir: Path) -> list[Path]:
    """Write the synthetic files for `name` into `out_dir` (created if needed) and return the
    data files written, in order (each has its sidecar beside it)."""
    if name not in GENERATORS:
        raise KeyError(f"no synthetic generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    module, function = GENERATORS[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return getattr(import_module(module), function)(geo, out_dir)
