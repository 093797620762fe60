"""The monthly refresh: locate files, parse and validate, build a new warehouse, check, swap.

Nothing here writes to the live warehouse or to a sources folder. A problem anywhere raises
before `swap_in`, so the live file and its snapshots stay exactly as they were.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path

import duckdb
import pandas as pd

from etl import checks
from etl.changelog import compute_changelog, summarise
from etl.errors import RefreshError, SourceError, printable
from etl.geocontext import GeoContext
from etl.locate import Located, locate, sha256_file
from etl.manifest import PROJECT_ROOT, Source, load_manifest
from etl.parsers.geography import build_geography, read_lookup_2017, read_lookup_2021
from etl.parsers.population import aggregate_population, parse_population_files
from etl.refresh_log import REFRESH_LOG
from etl.similar_areas import similar_tables
from etl.staged import Staged
from etl.warehouse import SCHEMA_VERSION, new_build_path, open_read_only, refresh_lock, swap_in, write_tables
from etl.welsh_names import welsh_area_names

DEFAULT_DB = PROJECT_ROOT / "data" / "warehouse.duckdb"
GEOGRAPHY_IDS = ("ons_lad_csp_pfa_2017", "lad21_csp_pfa_lookup", "ons_lad_boundaries_2022")


def default_db() -> Path:
    return Path(os.environ.get("SVD_DB") or DEFAULT_DB)


def default_sources() -> Path | None:
    env = os.environ.get("SVD_SOURCES")
    return Path(env) if env else None


def pipeline_version() -> str:
    """Hash of the ETL code and manifest: a code change rebuilds even when no file changed."""
    h = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "etl").rglob("*.py")) + sorted((PROJECT_ROOT / "methods").rglob("*.py")) \
            + sorted((PROJECT_ROOT / "data").glob("*.toml")) + sorted((PROJECT_ROOT / "data").glob("*.csv")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class RefreshResult:
    status: str  # 'built', 'unchanged'
    db: Path
    message: str
    changelog: dict = field(default_factory=dict)
    seconds: float = 0.0


class Progress:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet, self.t0 = quiet, time.monotonic()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)


def refresh(sources_dir: Path | None = None, db: Path | None = None, *, force: bool = False,
            quiet: bool = False, only_default: bool = True, download: bool = False,
            months: list[str] | None = None) -> RefreshResult:
    """Build a new warehouse from the located sources and swap it in. `download`: first fetch
    the fetch='url' sources (and police.uk archives for `months`) into data/raw/, inside the
    lock, so two refreshes never write the same raw file and a build never reads a half-written one."""
    db = Path(db or default_db())
    sources_dir = Path(sources_dir) if sources_dir else default_sources()
    if sources_dir is not None and not sources_dir.is_dir():
        raise RefreshError(f"sources folder {sources_dir} does not exist")
    progress = Progress(quiet)
    started = datetime.now(timezone.utc)
    db.parent.mkdir(parents=True, exist_ok=True)
    with refresh_lock(db):
        if download:
            from etl.fetch import download_all
            download_all(quiet=quiet, months=months or [])
        manifest = load_manifest()
        located = {s.id: locate(s, sources_dir) for s in manifest}
        for sid in (*GEOGRAPHY_IDS, "ons_mye_2020", "ons_mye_2021"):
            if not located[sid].paths:
                src = located[sid].source
                raise SourceError(f"no file matching {src.mirror!r} in {sources_dir or 'data/raw'} "
                                  f"(download it from {src.url})", source_id=sid)
        fingerprint = _fingerprint(located)
        version = pipeline_version()
        previous = _previous_state(db)
        if not force and previous and previous.get("fingerprint") == fingerprint \
                and previous.get("pipeline_version") == version:
            msg = "no source file changed since the live warehouse was built: nothing to do"
            progress(msg)
            _log(db, {"started_at": started.isoformat(), "status": "unchanged", "message": msg})
            return RefreshResult("unchanged", db, msg, seconds=time.monotonic() - progress.t0)
        build = new_build_path(db)
        try:
            result = _build(build, db, manifest, located, sources_dir, progress, started, fingerprint,
                            version, only_default)
            snap = swap_in(build, db)
        except BaseException as exc:
            build.unlink(missing_ok=True)
            _log(db, {"started_at": started.isoformat(), "status": "failed", "message": str(exc)})
            raise
        progress(f"swapped in {printable(db)}" + (f"; the previous file is kept as snapshot {printable(snap.name)}"
                                                 if snap else ""))
        _log(db, {"started_at": started.isoformat(), "status": "built", "message": result.message})
        return result


def _fingerprint(located: dict[str, Located]) -> str:
    h = hashlib.sha256()
    for sid in sorted(located):
        for p in located[sid].paths:
            st = p.stat()
            h.update(f"{sid}|{p.name}|{st.st_size}|{sha256_file(p)}".encode())
    return h.hexdigest()


def _previous_state(db: Path) -> dict | None:
    if not db.exists():
        return None
    try:
        con = open_read_only(db)
        try:
            rows = dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
        finally:
            con.close()
        return rows
    except duckdb.Error:
        return None


def _log(db: Path, entry: dict) -> None:
    """Append to the refresh log; best effort, so a full disk or read-only folder never hides
    the refresh's own outcome or error."""
    entry["finished_at"] = datetime.now(timezone.utc).isoformat()
    try:
        with open(db.parent / REFRESH_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    except OSError as exc:
        print(f"warning: could not append to {printable(db.parent / REFRESH_LOG)}: {exc.strerror or exc}",
              file=sys.stderr)


def _parser(name: str):
    return import_module(f"etl.parsers.{name}")


def _build(build: Path, live: Path, manifest: list[Source], located: dict[str, Located],
           sources_dir: Path | None, progress: Progress, started: datetime, fingerprint: str,
           version: str, only_default: bool) -> RefreshResult:
    {s.id: s for s in manifest}
    # 1. population (gives LAD -> region), then geography
    progress("population: reading ONS mid-year estimate workbooks")
    pop_files = [(p, sid) for sid in ("ons_mye_2020", "ons_mye_2021") for p in located[sid].paths]
    pop = parse_population_files(pop_files)
    progress("geography: lookups and boundaries")
    p17, p21, pb = (located[s].paths[0] for s in GEOGRAPHY_IDS)
    geog = build_geography((p17, GEOGRAPHY_IDS[0]), (p21, GEOGRAPHY_IDS[1]), (pb, GEOGRAPHY_IDS[2]), pop.lad_region)
    population = aggregate_population(pop.rows, geog.links, set(geog.split_lads["csp_code"]))
    geo = geog.context(population)
    lookups = {"l17": read_lookup_2017(p17, GEOGRAPHY_IDS[0]), "l21": read_lookup_2021(p21, GEOGRAPHY_IDS[1])}

    geography_key = hashlib.sha256(pd.util.hash_pandas_object(population, index=False).values.tobytes()
                                   + pd.util.hash_pandas_object(geog.areas.astype(str), index=False).values.tobytes()
                                   ).hexdigest()[:16]
    # Synthetic stand-ins are generated in a second process while this one parses the real
    # files (the machine has two cores; generation is pure Python, parsing mostly DuckDB).
    need_synthetic = [s for s in manifest if s.synthetic and not located[s.id].paths
                      and s.family not in ("geography", "population")]
    with tempfile.TemporaryDirectory(prefix="svd-synthetic-") as tmp:
        generator = _start_generator(need_synthetic, geo, geography_key, version, live.parent / "generated",
                                     Path(tmp), progress.quiet)
        try:
            return _parse_and_write(build, live, manifest, located, sources_dir, progress, started, fingerprint,
                                    version, only_default, geog, population, geo, lookups, generator)
        finally:
            generator.stop()


class _Generator:
    """The synthetic-file generator running in a second process (`python -m etl.synthetic.cache`)."""

    def __init__(self, proc: subprocess.Popen | None, job: Path | None, source_ids: set[str]) -> None:
        self.proc, self.job, self.source_ids, self._result = proc, job, source_ids, None

    def paths_for(self, source_id: str) -> list[Path]:
        if self._result is None:
            assert self.proc is not None and self.job is not None
            _, err = self.proc.communicate()
            if self.proc.returncode != 0:
                tail = (err or b"").decode(errors="replace").strip().splitlines()[-3:]
                raise RefreshError(f"synthetic data generation failed (exit {self.proc.returncode}): {' | '.join(tail)}")
            self._result = json.loads(self.job.with_suffix(".json").read_text())
        return [Path(p) for p in self._result[source_id]]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _start_generator(sources: list[Source], geo: GeoContext, geography_key: str, version: str,
                     generated_dir: Path, tmp: Path, quiet: bool) -> _Generator:
    """Start generating the synthetic stand-ins in a second process while this one parses the real
    files (two cores; generation is pure Python, parsing mostly DuckDB)."""
    if not sources:
        return _Generator(None, None, set())
    job = tmp / "job.pickle"
    job.write_bytes(pickle.dumps({
        "geo": GeoContext(geo.areas, geo.links, geo.population), "generated_dir": str(generated_dir), "quiet": quiet,
        "jobs": [(s.synthetic, s.id, f"{s.synthetic}|{version}|{geography_key}") for s in sources]}))
    proc = subprocess.Popen([sys.executable, "-m", "etl.synthetic.cache", str(job)], cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=None if not quiet else subprocess.PIPE)
    return _Generator(proc, job, {s.id for s in sources})


def _parse_and_write(build: Path, live: Path, manifest: list[Source], located: dict[str, Located],
                     sources_dir: Path | None, progress: Progress, started: datetime, fingerprint: str,
                     version: str, only_default: bool, geog, population: pd.DataFrame, geo: GeoContext,
                     lookups: dict[str, pd.DataFrame], generator: _Generator) -> RefreshResult:
    # An unreadable live file (corrupt, not a warehouse) is built over as if absent; the swap
    # keeps it as a snapshot.
    has_live = _previous_state(live) is not None
    previous = open_read_only(live) if has_live else None
    staged: list[Staged] = []
    source_rows, file_rows = [], []
    not_loaded: list[dict] = []  # manifest sources with no file this run, and why (shown to the analyst)
    now = datetime.now(timezone.utc)
    for src in manifest:
        if src.family in ("geography", "population"):
            loc = located[src.id]
            for p in loc.paths:
                file_rows.append({"source_id": src.id, "file_name": p.name, "sha256": sha256_file(p),
                                  "rows": None, "period": None, "reused": False})
            if src.family == "population":
                n = int((population["source_id"] == src.id).sum())
            elif src.id == "ons_lad_boundaries_2022":
                n = len(geog.boundaries)
            else:
                n = len(lookups["l17"] if src.id == GEOGRAPHY_IDS[0] else lookups["l21"])
            source_rows.append(_source_row(src, loc, now, n, src.quality))
            continue
        loc = located[src.id]
        paths, quality = loc.paths, src.quality
        if not paths and src.id in generator.source_ids:
            paths = generator.paths_for(src.id)
            quality = "synthetic"
            loc = Located(src, paths, "synthetic", "synthetic")
        if not paths:
            if src.default and only_default:
                raise SourceError(f"no file matching {src.mirror!r} in {sources_dir or 'data/raw'}",
                                  source_id=src.id)
            progress(f"{src.id}: no file present; not loaded (optional source)")
            not_loaded.append({"source_id": src.id, "family": src.family, "publisher": src.publisher,
                               "title": src.title, "url": src.url,
                               "reason": f"no file matching {src.mirror!r} in {sources_dir or 'data/raw'} and no "
                                         "synthetic stand-in for it; an optional source, so the refresh went on"})
            continue
        progress(f"{src.id}: parsing {len(paths)} file(s)")
        module = _parser(src.parser)
        try:
            if src.parser == "police_uk":
                st = module.parse(paths, src, geo, previous=previous, lookups=lookups)
                progress(f"{src.id}: read {st.stats.get('files_read')} of {st.stats.get('files')} files "
                         "(others unchanged, reused)")
            else:
                st = module.parse(paths, src, geo)
        except SourceError as exc:
            raise exc.located(source_id=src.id) from None
        staged.append(st)
        n_obs = len(st.observations)
        source_rows.append(_source_row(src, loc, now, n_obs, quality))
        if st.files:
            by_name = {p.name: p for p in paths}
            for f in st.files:
                name = f.get("file_name") or f.get("name")
                digest = f.get("sha256") or (sha256_file(by_name[name]) if name in by_name else None)
                file_rows.append({"source_id": src.id, "file_name": name, "sha256": digest, "rows": f.get("rows"),
                                  "period": f.get("period"), "reused": bool(f.get("reused", False))})
        else:
            for p in paths:
                file_rows.append({"source_id": src.id, "file_name": p.name, "sha256": sha256_file(p),
                                  "rows": None, "period": None, "reused": False})
    if previous is not None:
        previous.close()

    progress("build: assembling tables")
    observations = pd.concat([s.observations for s in staged if len(s.observations)], ignore_index=True)
    indicators = pd.concat([s.indicators for s in staged if len(s.indicators)], ignore_index=True)
    dup = indicators["indicator_id"].duplicated()
    if dup.any():
        raise RefreshError(f"indicator {indicators['indicator_id'][dup].iloc[0]} defined by two sources")
    extra: dict[str, list[pd.DataFrame]] = {}
    for s in staged:
        for name, df in s.tables.items():
            extra.setdefault(name, []).append(df.assign(source_id=s.source_id) if "source_id" not in df else df)
    tables = {
        "areas": geog.areas, "area_links": geog.links, "boundaries": geog.boundaries,
        "csp_groups": geog.split_lads,
        "population": population[["area_code", "year", "age_band", "sex", "persons", "source_id"]],
        "indicators": indicators, "observations": observations,
        "sources": pd.DataFrame(source_rows), "source_files": pd.DataFrame(file_rows),
        "area_names_cy": welsh_area_names(geog.areas, geog.links),
        "sources_not_loaded": pd.DataFrame(not_loaded, columns=["source_id", "family", "publisher", "title",
                                                                "url", "reason"]).astype("string"),
    }
    for name, frames in extra.items():
        if name in tables:
            raise RefreshError(f"staged table {name} clashes with a warehouse table")
        tables[name] = pd.concat(frames, ignore_index=True)
    progress("build: most similar partnerships")
    tables.update(similar_tables(tables))  # from the published inputs only (etl/similar_areas.py)
    tables = {k: _arrow_safe(v) for k, v in tables.items()}
    write_tables(build, tables)

    progress("build: checks")
    con = duckdb.connect(str(build))
    try:
        problems = checks.run_all(con)
        if problems:
            raise RefreshError("warehouse checks failed: " + "; ".join(problems))
        if has_live:
            con.execute(f"ATTACH '{str(live).replace(chr(39), chr(39) * 2)}' AS wh (READ_ONLY)")
        con.execute("ATTACH ':memory:' AS scratch")
        changelog = _changelog(con, has_live)
        message = summarise(changelog)
        history = _history(con, has_live)
        finished = datetime.now(timezone.utc)
        refresh_id = started.strftime("%Y%m%dT%H%M%SZ")
        history = pd.concat([history, pd.DataFrame([{
            "refresh_id": refresh_id, "started_at": started, "finished_at": finished, "status": "built",
            "message": message, "changelog": json.dumps(changelog, default=str)}])], ignore_index=True)
        if has_live:
            con.execute("DETACH wh")
        con.register("_h", history)
        con.execute("CREATE TABLE refreshes AS SELECT * FROM _h")
        meta = pd.DataFrame([("fingerprint", fingerprint), ("pipeline_version", version),
                             ("schema_version", str(SCHEMA_VERSION)), ("built_at", finished.isoformat()),
                             ("refresh_id", refresh_id)], columns=["key", "value"])
        con.register("_m", meta)
        con.execute("CREATE TABLE meta AS SELECT * FROM _m")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return RefreshResult("built", live, message, changelog, time.monotonic() - progress.t0)


def _changelog(con: duckdb.DuckDBPyConnection, has_previous: bool) -> dict:
    con.execute("CREATE SCHEMA IF NOT EXISTS new")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                               "AND schema_name = 'main'").fetchall():
        con.execute(f'CREATE VIEW new."{name}" AS SELECT * FROM main."{name}"')
    try:
        return compute_changelog(con, has_previous)
    finally:
        con.execute("DROP SCHEMA new CASCADE")


def _history(con: duckdb.DuckDBPyConnection, has_previous: bool) -> pd.DataFrame:
    cols = ["refresh_id", "started_at", "finished_at", "status", "message", "changelog"]
    if has_previous:
        try:
            return con.execute("SELECT * FROM wh.refreshes ORDER BY started_at").df()[cols]
        except duckdb.Error:
            pass
    return pd.DataFrame(columns=cols)


def _source_row(src: Source, loc: Located, now: datetime, rows: int, quality: str) -> dict:
    names = [p.name for p in loc.paths]
    h = hashlib.sha256()
    for p in loc.paths:
        h.update(sha256_file(p).encode())
    return {"source_id": src.id, "family": src.family, "publisher": src.publisher, "title": src.title,
            "url": src.url, "licence": src.licence, "attribution": src.attribution, "format": src.format,
            "cadence": src.cadence, "file_name": names[0] if len(names) == 1 else f"{len(names)} files",
            "sha256": h.hexdigest(), "retrieved_at": now, "origin": loc.origin, "rows": rows,
            "quality": quality}


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed None/str are fine for DuckDB; lists and dicts become JSON text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna().head(50)
            if any(isinstance(v, (list, dict, set, tuple)) for v in sample):
                out[col] = out[col].map(lambda v: None if v is None else json.dumps(
                    list(v) if isinstance(v, (set, tuple)) else v, default=str))
    return out


def geo_from_warehouse(con: duckdb.DuckDBPyConnection) -> GeoContext:
    """A GeoContext from a built warehouse (for tools and tests that start from one)."""
    return GeoContext(con.execute("SELECT * FROM wh.areas").df(), con.execute("SELECT * FROM wh.area_links").df(),
                      con.execute("SELECT * FROM wh.population").df())
