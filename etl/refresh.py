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
from pathlib import Path

import duckdb
import pandas as pd

from etl import checks, checksums
from etl.changelog import compute_changelog, summarise
from etl.errors import RefreshError, SourceError, printable
from etl.geocontext import GeoContext
from etl.locate import Located, locate
from etl.manifest import PROJECT_ROOT, Source, load_manifest
from etl.parsers import CONTEXT_PARSERS, call_parser, load_parser
from etl.parsers.geography import GeographyTables, build_geography
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
    lock, so two refreshes never write the same raw file and a build never reads a half-written one.

    The steps, each a function below, the same for every source: locate, context (geography and
    population), parse, stage, build, check, record, swap, and the refresh log."""
    db = Path(db or default_db())
    sources_dir = Path(sources_dir) if sources_dir else default_sources()
    if sources_dir is not None and not sources_dir.is_dir():
        raise RefreshError(f"sources folder {sources_dir} does not exist")
    progress = Progress(quiet)
    started = datetime.now(timezone.utc)
    db.parent.mkdir(parents=True, exist_ok=True)
    with refresh_lock(db), checksums.one_run():  # each file's sha256 computed once (etl/checksums.py)
        if download:
            from etl.fetch import download_all
            download_all(quiet=quiet, months=months or [])
        manifest = load_manifest()
        located = locate_sources(manifest, sources_dir)
        fingerprint = _fingerprint(located)
        version = pipeline_version()
        previous = _previous_state(db)
        if not force and previous and previous.get("fingerprint") == fingerprint \
                and previous.get("pipeline_version") == version:
            msg = "no source file changed since the live warehouse was built: nothing to do"
            progress(msg)
            _log(db, {"started_at": started.isoformat(), "status": "unchanged", "message": msg})
            return RefreshResult("unchanged", db, msg, seconds=time.monotonic() - progress.t0)
        run = Run(new_build_path(db), db, sources_dir, progress, started, fingerprint, version, only_default,
                  has_live=previous is not None)
        try:
            result = build_warehouse(run, manifest, located)
            snap = swap_in(run.build, db)
        except BaseException as exc:
            run.build.unlink(missing_ok=True)
            _log(db, {"started_at": started.isoformat(), "status": "failed", "message": str(exc)})
            raise
        progress(f"swapped in {printable(db)}" + (f"; the previous file is kept as snapshot {printable(snap.name)}"
                                                 if snap else ""))
        _log(db, {"started_at": started.isoformat(), "status": "built", "message": result.message})
        return result


@dataclass
class Run:
    """One refresh's settings, handed from step to step instead of a long parameter list."""

    build: Path  # the new warehouse file, built aside
    live: Path  # the live warehouse (read only here; swapped over at the end)
    sources_dir: Path | None
    progress: Progress
    started: datetime
    fingerprint: str
    version: str
    only_default: bool
    # An unreadable live file (corrupt, not a warehouse) is built over as if absent; the swap
    # keeps it as a snapshot.
    has_live: bool = False


@dataclass
class Context:
    """The context step's result: geography and population, and the GeoContext every parser gets."""

    geog: GeographyTables
    population: pd.DataFrame
    geo: GeoContext


@dataclass
class Parsed:
    """One manifest source after the parse step: its bundle (None when not loaded) and lineage."""

    source_id: str
    staged: Staged | None = None
    source_row: dict | None = None
    file_rows: list[dict] = field(default_factory=list)
    not_loaded: dict | None = None  # why a source with no file was left out (shown to the analyst)


def _fingerprint(located: dict[str, Located]) -> str:
    h = hashlib.sha256()
    for sid in sorted(located):
        for p in located[sid].paths:
            st = p.stat()
            h.update(f"{sid}|{p.name}|{st.st_size}|{located[sid].digest(p)}".encode())
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


def locate_sources(manifest: list[Source], sources_dir: Path | None) -> dict[str, Located]:
    """Step 1, locate: each source's files in the sources folder or data/raw/. The geography and
    population files are required (every other source is placed and rated with them)."""
    located = {s.id: locate(s, sources_dir) for s in manifest}
    for src in manifest:
        if src.parser in CONTEXT_PARSERS and not located[src.id].paths:
            raise SourceError(f"no file matching {src.mirror!r} in {sources_dir or 'data/raw'} "
                              f"(download it from {src.url})", source_id=src.id)
    return located


def load_context(located: dict[str, Located], progress: Progress) -> Context:
    """Step 2, context: population (gives LAD -> region), then geography, then the GeoContext
    (areas, links, population and the LAD -> CSP lookups) every parser receives."""
    progress("population: reading ONS mid-year estimate workbooks")
    pop_files = [(p, sid) for sid in ("ons_mye_2020", "ons_mye_2021") for p in located[sid].paths]
    pop = parse_population_files(pop_files)
    progress("geography: lookups and boundaries")
    p17, p21, pb = (located[s].paths[0] for s in GEOGRAPHY_IDS)
    geog = build_geography((p17, GEOGRAPHY_IDS[0]), (p21, GEOGRAPHY_IDS[1]), (pb, GEOGRAPHY_IDS[2]), pop.lad_region)
    population = aggregate_population(pop.rows, geog.links, set(geog.split_lads["csp_code"]))
    return Context(geog, population, geog.context(population))


def build_warehouse(run: Run, manifest: list[Source], located: dict[str, Located]) -> RefreshResult:
    """Steps 2-7 into `run.build`: context, parse every source, stage, build, check, record."""
    ctx = load_context(located, run.progress)
    geography_key = hashlib.sha256(pd.util.hash_pandas_object(ctx.population, index=False).values.tobytes()
                                   + pd.util.hash_pandas_object(ctx.geog.areas.astype(str), index=False).values.tobytes()
                                   ).hexdigest()[:16]
    # Synthetic stand-ins are generated in a second process while this one parses the real
    # files (the machine has two cores; generation is pure Python, parsing mostly DuckDB).
    need_synthetic = [s for s in manifest if s.synthetic and not located[s.id].paths
                      and s.parser not in CONTEXT_PARSERS]
    with tempfile.TemporaryDirectory(prefix="svd-synthetic-") as tmp:
        generator = _start_generator(need_synthetic, ctx.geo, geography_key, run.version, run.live.parent / "generated",
                                     Path(tmp), run.progress.quiet)
        try:
            previous = open_read_only(run.live) if run.has_live else None
            try:
                dependencies = {"previous": previous}
                parsed = [context_lineage(src, located[src.id], ctx) if src.parser in CONTEXT_PARSERS
                          else parse_source(src, located[src.id], ctx.geo, dependencies, generator, run)
                          for src in manifest]
            finally:
                if previous is not None:
                    previous.close()
        finally:
            generator.stop()
    tables = stage_tables(ctx, parsed, run.progress)
    write_tables(run.build, tables)
    con = duckdb.connect(str(run.build))
    try:
        check_warehouse(con, run.progress)
        return record_build(con, run)
    finally:
        con.close()


def context_lineage(src: Source, loc: Located, ctx: Context) -> Parsed:
    """Lineage of a geography or population source (read in the context step)."""
    if src.parser == "population":
        n = int((ctx.population["source_id"] == src.id).sum())
    elif src.id == "ons_lad_boundaries_2022":
        n = len(ctx.geog.boundaries)
    else:
        n = len(ctx.geo.lookups["l17"] if src.id == GEOGRAPHY_IDS[0] else ctx.geo.lookups["l21"])
    return Parsed(src.id, None, _source_row(src, loc, datetime.now(timezone.utc), n, src.quality),
                  [_file_row(src.id, p, loc) for p in loc.paths])


def parse_source(src: Source, loc: Located, geo: GeoContext, dependencies: dict, generator: _Generator,
                 run: Run) -> Parsed:
    """Step 3, parse: one source's located files (or its synthetic stand-in) through its parser,
    with the dependencies the parser declares (`etl.parsers.DEPENDENCIES`); the same for all."""
    paths, quality = loc.paths, src.quality
    if not paths and src.id in generator.source_ids:
        paths = generator.paths_for(src.id)
        quality = "synthetic"
        loc = Located(src, paths, "synthetic", "synthetic")
    where = run.sources_dir or "data/raw"
    if not paths:
        if src.default and run.only_default:
            raise SourceError(f"no file matching {src.mirror!r} in {where}", source_id=src.id)
        run.progress(f"{src.id}: no file present; not loaded (optional source)")
        return Parsed(src.id, not_loaded={
            "source_id": src.id, "family": src.family, "publisher": src.publisher, "title": src.title,
            "url": src.url, "reason": f"no file matching {src.mirror!r} in {where} and no synthetic stand-in "
                                      "for it; an optional source, so the refresh went on"})
    run.progress(f"{src.id}: parsing {len(paths)} file(s)")
    try:
        st = call_parser(load_parser(src.parser), paths, src, geo, dependencies)
    except SourceError as exc:
        raise exc.located(source_id=src.id) from None
    if st.stats:
        run.progress(f"{src.id}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in st.stats.items()))
    return Parsed(src.id, st, _source_row(src, loc, datetime.now(timezone.utc), len(st.observations), quality),
                  _file_rows(src.id, st, loc))


SOURCE_FILE_COLUMNS = ["source_id", "file_name", "sha256", "rows", "period", "reused", "publisher_notes"]


def _file_row(source_id: str, path: Path, loc: Located) -> dict:
    return {"source_id": source_id, "file_name": path.name, "sha256": loc.digest(path),
            "rows": None, "period": None, "reused": False, "publisher_notes": None}


def _file_rows(source_id: str, st: Staged, loc: Located) -> list[dict]:
    """One lineage row per file read: what the parser reported (rows, period, reuse, the
    publisher's notes on the whole file or table), else the located file itself."""
    if not st.files:
        return [_file_row(source_id, p, loc) for p in loc.paths]
    by_name = {p.name: p for p in loc.paths}
    rows = []
    for f in st.files:
        name = f.get("file_name") or f.get("name")
        digest = f.get("sha256") or (loc.digest(by_name[name]) if name in by_name else None)
        rows.append({"source_id": source_id, "file_name": name, "sha256": digest, "rows": f.get("rows"),
                     "period": f.get("period"), "reused": bool(f.get("reused", False)),
                     "publisher_notes": f.get("publisher_notes")})
    return rows


def stage_tables(ctx: Context, parsed: list[Parsed], progress: Progress) -> dict[str, pd.DataFrame]:
    """Step 4, stage: every warehouse table from the context and the parsed bundles, with
    lineage (sources, source_files, sources_not_loaded)."""
    progress("build: assembling tables")
    staged = [p.staged for p in parsed if p.staged is not None]
    geog, population = ctx.geog, ctx.population
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
        "sources": pd.DataFrame([p.source_row for p in parsed if p.source_row is not None]),
        "source_files": pd.DataFrame([r for p in parsed for r in p.file_rows],
                                     columns=SOURCE_FILE_COLUMNS).astype({"publisher_notes": "string"}),
        "area_names_cy": welsh_area_names(geog.areas, geog.links),
        "sources_not_loaded": pd.DataFrame([p.not_loaded for p in parsed if p.not_loaded is not None],
                                           columns=["source_id", "family", "publisher", "title", "url",
                                                    "reason"]).astype("string"),
    }
    for name, frames in extra.items():
        if name in tables:
            raise RefreshError(f"staged table {name} clashes with a warehouse table")
        tables[name] = pd.concat(frames, ignore_index=True)
    progress("build: most similar partnerships")
    tables.update(similar_tables(tables))  # from the published inputs only (etl/similar_areas.py)
    return {k: _arrow_safe(v) for k, v in tables.items()}


def check_warehouse(con: duckdb.DuckDBPyConnection, progress: Progress) -> None:
    """Step 6, check: the warehouse invariants (`etl.checks`) on the new file; any failure stops
    the refresh before the swap."""
    progress("build: checks")
    problems = checks.run_all(con)
    if problems:
        raise RefreshError("warehouse checks failed: " + "; ".join(problems))


def record_build(con: duckdb.DuckDBPyConnection, run: Run) -> RefreshResult:
    """Step 7, record: the changelog against the live warehouse, the refresh history and the
    build's meta (fingerprint, pipeline and schema version) into the new file."""
    if run.has_live:
        con.execute(f"ATTACH '{str(run.live).replace(chr(39), chr(39) * 2)}' AS wh (READ_ONLY)")
    con.execute("ATTACH ':memory:' AS scratch")
    changelog = _changelog(con, run.has_live)
    message = summarise(changelog)
    history = _history(con, run.has_live)
    finished = datetime.now(timezone.utc)
    refresh_id = run.started.strftime("%Y%m%dT%H%M%SZ")
    history = pd.concat([history, pd.DataFrame([{
        "refresh_id": refresh_id, "started_at": run.started, "finished_at": finished, "status": "built",
        "message": message, "changelog": json.dumps(changelog, default=str)}])], ignore_index=True)
    if run.has_live:
        con.execute("DETACH wh")
    con.register("_h", history)
    con.execute("CREATE TABLE refreshes AS SELECT * FROM _h")
    meta = pd.DataFrame([("fingerprint", run.fingerprint), ("pipeline_version", run.version),
                         ("schema_version", str(SCHEMA_VERSION)), ("built_at", finished.isoformat()),
                         ("refresh_id", refresh_id)], columns=["key", "value"])
    con.register("_m", meta)
    con.execute("CREATE TABLE meta AS SELECT * FROM _m")
    con.execute("CHECKPOINT")
    return RefreshResult("built", run.live, message, changelog, time.monotonic() - run.progress.t0)


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
            checksums.adopt(self._result["sha256"])  # the digests the sidecars were written with
        return [Path(p) for p in self._result["paths"][source_id]]

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
        h.update(loc.digest(p).encode())
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
