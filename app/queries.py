"""THE read-only query module: every SQL statement the dashboard runs lives here.

Why one module: the warehouse schema is the contract between `etl/` and the pages, so one file
shows everything the pages rely on, and one connection helper applies the rules found on these
machines (docs/design.md, "Pitfalls"):

- open an in-memory DuckDB connection and `ATTACH` the warehouse `READ_ONLY`; a plain
  `duckdb.connect(path, read_only=True)` can hand back an old database from DuckDB's instance
  cache after a refresh swapped the file;
- key every cache on the file's identity (`warehouse_version()`: inode + mtime), so a refresh
  shows up on the next rerun without restarting streamlit;
- one cursor per query, so concurrent sessions never share a connection's state.

Functions are named for what users ask (`csp_profile` lives in `app.profile`, which builds it
from `area_geography` and `observations` here). They return pandas frames or plain dicts.
Imports: duckdb, pandas, streamlit (only for its caches). Never `etl/`.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
BUILD_COMMAND = "python -m etl refresh --sources ../shared/data"
ENGLAND_WALES = "K04000001"
ENGLAND = "E92000001"
WALES = "W92000004"
AREA_TYPE_NAMES = {
    "csp": "Community Safety Partnership",
    "lad": "Local authority",
    "pfa": "Police force area",
    "region": "Region",
    "country": "Country",
    "national": "England and Wales",
    "utla": "Upper-tier local authority",
    "uk": "United Kingdom",
}
LOCAL_LEVELS = ("csp", "lad", "pfa")
FAMILIES = ("knife_crime", "ae_assault", "gangs", "drug_treatment")
FAMILIES_FILE = ROOT / "data" / "families.csv"


def _family_names() -> dict[str, str]:
    """Each family's name for people (`knife_crime` -> "Knife crime and weapons"), written once
    in data/families.csv and read by every page, table, chart and report that names a family."""
    rows = pd.read_csv(FAMILIES_FILE, dtype=str, keep_default_na=False)
    return dict(zip(rows["family"], rows["name"], strict=True))


FAMILY_NAMES = _family_names()
ISTV_WEAPONS_FILE = ROOT / "data" / "istv_weapon_categories.csv"


def istv_weapon_names() -> dict[str, str]:
    """The ISTV weapon categories (`knife_sharp`, the codes of data/istv_assault_method_map.csv)
    by the words a page shows for them ("Knife or sharp object"), from
    data/istv_weapon_categories.csv."""
    rows = pd.read_csv(ISTV_WEAPONS_FILE, dtype=str, keep_default_na=False)
    return dict(zip(rows["category"], rows["name"], strict=True))
# The figure a briefing would quote first for each family. The headline is chosen here, not
# guessed from the data, so it does not change when a new national series is added.
HEADLINE_INDICATORS = {
    "knife_crime": "police_recorded_knife_offences__ew_all_forces_ndqis",
    "ae_assault": "hes_admissions_assault_sharp_object__fce",
    "gangs": "gangs_cco_gang_members_10_17",
    "drug_treatment": "adult_drug_alcohol_treatment__ndtms",
}
# What leads in headlines, defaults and within a family: published figures first, synthetic
# stand-ins last (and never as a headline). A rule on the data, so a real file that replaces a
# stand-in takes the lead without anyone editing an indicator id.
QUALITY_RANK = {"official": 0, "local": 1, "modelled": 2, "unsourced": 3, "synthetic": 4}
NEVER_HEADLINE = ("synthetic", "unsourced")  # stand-ins, and figures with no official source
# Annual figures first: the profile shows the latest annual value where a source publishes
# both quarters and years.
PERIOD_TYPE_PREFERENCE = (
    "financial_year", "pooled_financial_years", "year_ending", "calendar_year", "month", "quarter", "range",
)


# ---------------------------------------------------------------- connection and versioning
def parquet_dir() -> Path | None:
    """Env SVD_PARQUET: serve from a `python -m etl export` folder instead of the .duckdb file
    (dashboard replicas reading a shared or object-store copy; see README, "Past one machine")."""
    env = os.environ.get("SVD_PARQUET")
    return Path(env) if env else None


def db_path() -> Path:
    """The live warehouse: the Parquet export's _meta.json when SVD_PARQUET is set, else env
    SVD_DB, else data/warehouse.duckdb (as `python -m etl`)."""
    if (pq := parquet_dir()) is not None:
        return pq / "_meta.json"
    env = os.environ.get("SVD_DB")
    return Path(env) if env else ROOT / "data" / "warehouse.duckdb"


def warehouse_exists() -> bool:
    return db_path().is_file()


def warehouse_version() -> str | None:
    """Identity of the live file (inode + mtime + size). A refresh swaps the file with
    `os.replace` (an export renames its folder in), which changes the inode, so every cache
    keyed on this is invalidated."""
    try:
        s = db_path().stat()
    except FileNotFoundError:
        return None
    return f"{s.st_ino}-{s.st_mtime_ns}-{s.st_size}"


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(path: str, version: str) -> duckdb.DuckDBPyConnection:
    """One in-memory connection per warehouse version, with the file attached read-only, or,
    for a Parquet export, an in-memory catalogue `wh` of views over its files (same table
    names and columns, so every query below runs unchanged)."""
    con = duckdb.connect(":memory:")
    if path.endswith("_meta.json"):
        folder = Path(path).parent
        tables = json.loads(Path(path).read_text(encoding="utf-8"))["tables"]
        con.execute("ATTACH ':memory:' AS wh")
        for name, info in tables.items():
            if info.get("partitioned_by"):
                glob = str(folder / info["path"] / "**" / "*.parquet").replace("'", "''")
                drop = ", ".join(info["partitioned_by"])
                con.execute(f'CREATE VIEW wh."{name}" AS SELECT * EXCLUDE ({drop}) '
                            f"FROM read_parquet('{glob}', hive_partitioning = true)")
            else:
                file = str(folder / info["path"]).replace("'", "''")
                con.execute(f"CREATE VIEW wh.\"{name}\" AS SELECT * FROM read_parquet('{file}')")
        return con
    quoted = path.replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS wh (READ_ONLY)")
    return con


@st.cache_data(max_entries=512, show_spinner=False)
def _cached_frame(sql: str, params: tuple, path: str, version: str) -> pd.DataFrame:
    cur = _connection(path, version).cursor()
    try:
        # A cursor is a new connection to the same in-memory database: its default catalog is
        # reset, so select the attached warehouse again (and never scan Python variables).
        cur.execute("SET python_enable_replacements = false")
        cur.execute("USE wh")
        return cur.execute(sql, list(params)).df()
    finally:
        cur.close()


def _frame(sql: str, params: tuple = ()) -> pd.DataFrame:
    version = warehouse_version()
    if version is None:
        raise FileNotFoundError(f"no warehouse at {db_path()}: run `{BUILD_COMMAND}`")
    try:
        return _cached_frame(sql, tuple(params), str(db_path()), version)
    except UNREADABLE_ERRORS as exc:
        _stop_unreadable(exc)
        raise


# ---------------------------------------------------------------- unreadable warehouse guard
# Errors that mean the file itself is bad (not a wrong query): DuckDB raises IOException for a
# file that is not a database or is shorter than its own header says.
UNREADABLE_ERRORS = (duckdb.IOException, duckdb.SerializationException, duckdb.FatalException,
                     duckdb.InternalException, OSError, json.JSONDecodeError)
REPAIR_COMMANDS = ("python -m etl rollback", BUILD_COMMAND)
DUCKDB_HEADER_BYTES = 3 * 4096  # magic block + two database headers, before the first data block


class WarehouseUnreadable(RuntimeError):
    """The live warehouse file exists but cannot be read (corrupt, empty or half-written)."""


@st.cache_data(max_entries=4, show_spinner=False)
def _probe(path: str, version: str) -> str | None:
    """Why the file at `path` (this exact version) cannot be served, or None when it can.

    Cached per version: a file's identity changes whenever it is replaced or rewritten (inode,
    mtime, size), so a verdict on a bad file is never applied to the good one that follows,
    and `_connection` only keeps connections that opened (a failed open raises, which
    st.cache_resource does not store)."""
    if Path(path).stat().st_size == 0:
        return "the file is empty (0 bytes)"
    try:
        con = _connection(path, version)
        cur = con.cursor()
        try:
            cur.execute("SET python_enable_replacements = false")
            cur.execute("USE wh")
            cur.execute("SELECT count(*) FROM meta").fetchall()
            if not path.endswith("_meta.json"):
                # A half-written file opens (its header and catalogue come first) but is shorter
                # than the blocks its header counts; reading one of those fails later, mid-page.
                size = cur.execute("SELECT block_size, total_blocks FROM pragma_database_size() "
                                   "WHERE database_name = 'wh'").fetchone()
                if size is not None:
                    expected = DUCKDB_HEADER_BYTES + int(size[0]) * int(size[1])
                    actual = Path(path).stat().st_size
                    if actual < expected:
                        return f"the file is incomplete ({actual:,} of {expected:,} bytes: half-written or truncated)"
        finally:
            cur.close()
    except (duckdb.Error, OSError, ValueError, KeyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"it is not a readable warehouse ({first.replace(path, 'the file')})"
    return None


def warehouse_problem() -> str | None:
    """None when the live warehouse can be served; else, in words, why it cannot (no paths in a
    traceback, no exception). A missing file is `warehouse_exists()`'s job, not this one's."""
    version = warehouse_version()
    if version is None:
        return None
    try:
        return _probe(str(db_path()), version)
    except OSError as exc:  # replaced between stat and read
        return f"it could not be opened ({exc.strerror or type(exc).__name__})"


def unreadable_message(problem: str) -> str:
    return (f"The warehouse file cannot be read: {problem}. Put the previous good one back with "
            f"`{REPAIR_COMMANDS[0]}`, or rebuild it with `{REPAIR_COMMANDS[1]}`, then reload this page.")


def _stop_unreadable(exc: BaseException) -> None:
    """A read failed mid-page because the file went bad: in a page run, say so and stop the
    script (no traceback); elsewhere raise WarehouseUnreadable."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    problem = warehouse_problem() or "a read from it failed"
    if get_script_run_ctx() is not None:
        st.error(unreadable_message(problem), icon=":material/error:")
        st.stop()
    raise WarehouseUnreadable(problem) from exc


def _placeholders(values: list | tuple) -> str:
    return ", ".join("?" for _ in values) or "NULL"


# ---------------------------------------------------------------- meta, indicators, areas
def meta() -> dict[str, str]:
    df = _frame("SELECT key, value FROM meta")
    return dict(zip(df["key"], df["value"], strict=True))


def indicators() -> pd.DataFrame:
    return _frame("SELECT * FROM indicators ORDER BY family, indicator_id")


def indicator(indicator_id: str) -> dict[str, Any] | None:
    df = _frame("SELECT * FROM indicators WHERE indicator_id = ?", (indicator_id,))
    return None if df.empty else df.iloc[0].to_dict()


def local_indicators() -> pd.DataFrame:
    """Indicators published below national level (CSP, local authority or force area)."""
    return _frame(
        "SELECT * FROM indicators WHERE geography_level IN ('csp', 'lad', 'utla', 'pfa') "
        "AND family IN ('knife_crime', 'ae_assault', 'gangs', 'drug_treatment') ORDER BY family, indicator_id"
    )


def indicator_coverage() -> pd.DataFrame:
    """Per indicator and source: which nations its observations cover (from the area codes'
    first letter: E England, W Wales, K national). Why: an absent figure's true reason
    ("this publication covers England only") is a fact of the data, not of page wording."""
    return _frame(
        """
        SELECT indicator_id, split_part(source_id, '#', 1) AS source_id,
               bool_or(area_code LIKE 'E%') AS covers_england, bool_or(area_code LIKE 'W%') AS covers_wales
        FROM observations GROUP BY ALL ORDER BY ALL
        """
    )


def regional_indicators() -> pd.DataFrame:
    """Indicators published no lower than English regions (HES admissions by region of
    residence): a local profile shows them at the region the area is in, labelled so."""
    return _frame(
        "SELECT * FROM indicators WHERE geography_level = 'region' "
        "AND family IN ('knife_crime', 'ae_assault', 'gangs', 'drug_treatment') ORDER BY family, indicator_id"
    )


def areas(area_types: tuple[str, ...] = LOCAL_LEVELS, current_only: bool = True) -> pd.DataFrame:
    where = " AND valid_to IS NULL" if current_only else ""
    return _frame(
        f"SELECT area_code, area_name, area_type FROM areas WHERE area_type IN ({_placeholders(area_types)})"
        f"{where} ORDER BY area_name, area_type",
        tuple(area_types),
    )


def area(code: str) -> dict[str, Any] | None:
    df = _frame("SELECT * FROM areas WHERE area_code = ? ORDER BY valid_to NULLS FIRST LIMIT 1", (code,))
    return None if df.empty else df.iloc[0].to_dict()


def area_label(code: str, name: str, area_type: str) -> str:
    return f"{name} ({AREA_TYPE_NAMES.get(area_type, area_type)}, {code})"


def area_search(text: str, area_types: tuple[str, ...] = LOCAL_LEVELS, limit: int = 20) -> pd.DataFrame:
    """Areas whose name or code contains `text` (case-insensitive); exact and prefix matches
    first, then CSPs before local authorities before forces."""
    text = (text or "").strip()
    if not text:
        return pd.DataFrame(columns=["area_code", "area_name", "area_type", "label"])
    # Welsh names (Caerdydd) match too, and accents are optional (Ynys Mon finds Ynys Môn).
    has_cy = not _frame("SELECT 1 FROM duckdb_tables() WHERE table_name = 'area_names_cy'").empty
    names_cy = "area_names_cy" if has_cy else "(SELECT NULL::VARCHAR AS area_code, NULL::VARCHAR AS name_cy)"
    welsh = f"LEFT JOIN {names_cy} cy USING (area_code)"
    df = _frame(
        f"""
        SELECT area_code, area_name, area_type, cy.name_cy
        FROM areas {welsh}
        WHERE area_type IN ({_placeholders(area_types)}) AND valid_to IS NULL
          AND (strip_accents(area_name) ILIKE '%' || strip_accents(?) || '%' OR area_code ILIKE ? || '%'
               OR strip_accents(coalesce(cy.name_cy, '')) ILIKE '%' || strip_accents(?) || '%')
        ORDER BY (lower(area_name) = lower(?) OR lower(coalesce(cy.name_cy, '')) = lower(?)) DESC,
                 (area_name ILIKE ? || '%' OR coalesce(cy.name_cy, '') ILIKE ? || '%') DESC,
                 CASE area_type WHEN 'csp' THEN 0 WHEN 'lad' THEN 1 ELSE 2 END, area_name
        LIMIT ?
        """,
        (*area_types, text, text, text, text, text, text, text, limit),
    )
    df["label"] = [area_label(c, n, t) + (f" - {cy}" if isinstance(cy, str) and cy != n else "")
                   for c, n, t, cy in zip(df.area_code, df.area_name, df.area_type, df.name_cy, strict=True)]
    return df


def _linked(codes: list[str], end: str, other_type: str) -> pd.DataFrame:
    """Current areas of `other_type` linked to `codes`, which sit at the `end` ('child' or
    'parent') of the link: one query for both directions, so parents and children of an area
    are read by the same rule (current links only, ordered by name)."""
    other = {"child": "parent", "parent": "child"}[end]
    if not codes:
        return pd.DataFrame(columns=[f"{end}_code", "area_code", "area_name", "area_type"])
    return _frame(
        f"""
        SELECT l.{end}_code, a.area_code, a.area_name, a.area_type
        FROM area_links l JOIN areas a ON a.area_code = l.{other}_code
        WHERE l.{end}_code IN ({_placeholders(codes)}) AND l.{other}_type = ? AND l.valid_to IS NULL
        ORDER BY a.area_name
        """,
        (*codes, other_type),
    )


def _links(child_codes: list[str], parent_type: str) -> pd.DataFrame:
    return _linked(child_codes, "child", parent_type)


def _children(parent_codes: list[str], child_type: str) -> pd.DataFrame:
    return _linked(parent_codes, "parent", child_type)


def area_geography(code: str) -> dict[str, Any] | None:
    """Where an area sits: its local authorities, CSPs, force, region/country, and which of
    the awkward cases (CSP of several LADs, LAD split across CSPs) it is in.

    Returns dict(area, lads, csps, pfa, region, country, split_note, not_estimated); `lads`
    and `csps` are lists of dicts with code, name and `relation` in words.
    """
    a = area(code)
    if a is None:
        return None
    kind = a["area_type"]
    lads: list[dict] = []
    csps: list[dict] = []
    if kind == "csp":
        csps = [{"code": code, "name": a["area_name"], "relation": "this partnership"}]
        lad_df = _children([code], "lad")
        lad_parents = _links(list(lad_df.area_code), "csp")
        for r in lad_df.itertuples():
            n_csps = int((lad_parents.child_code == r.area_code).sum())
            if n_csps > 1:
                rel = f"which includes {a['area_name']} (the council is split across {n_csps} partnerships)"
            elif len(lad_df) > 1:
                rel = f"part of {a['area_name']}"
            else:
                rel = "same boundary as the partnership"
            lads.append({"code": r.area_code, "name": r.area_name, "relation": rel})
    elif kind == "lad":
        lads = [{"code": code, "name": a["area_name"], "relation": "this local authority"}]
        csp_df = _links([code], "csp")
        for r in csp_df.itertuples():
            if len(csp_df) > 1:
                rel = f"part of {a['area_name']}"
            elif r.area_name == a["area_name"]:
                rel = "same boundary as the local authority"
            else:
                rel = f"which includes {a['area_name']}"
            csps.append({"code": r.area_code, "name": r.area_name, "relation": rel})
    pfa: dict | None = None
    if kind == "pfa":
        pfa = {"code": code, "name": a["area_name"]}
    elif csps:
        p = _links([c["code"] for c in csps], "pfa")
        if not p.empty:
            pfa = {"code": p.iloc[0].area_code, "name": p.iloc[0].area_name}
    region: dict | None = None
    country = ENGLAND
    if pfa:
        r = _links([pfa["code"]], "region")
        if not r.empty:
            region = {"code": r.iloc[0].area_code, "name": r.iloc[0].area_name}
        c = _links([pfa["code"]], "country")
        if not c.empty:
            country = c.iloc[0].area_code
    if code.startswith(("W", )) or (pfa and pfa["code"].startswith("W")):
        country = WALES
    split = _frame(
        "SELECT DISTINCT note FROM boundaries WHERE area_code = ? AND note IS NOT NULL AND note <> ''", (code,)
    )
    not_est = _frame("SELECT reason, source_id FROM not_estimated WHERE area_code = ?", (code,))
    utlas = upper_tier_of([x["code"] for x in lads], a["area_name"]) if kind in ("csp", "lad") else []
    return {
        "area": a,
        "lads": lads,
        "csps": csps,
        "pfa": pfa,
        "region": region,
        "country": country,
        "split_note": None if split.empty else str(split.iloc[0, 0]),
        "not_estimated": not_est.to_dict("records"),
        "utlas": utlas,
    }


def upper_tier_name(code: str, name: str) -> str:
    """How a council area is named in a sentence: 'Kent County Council area' for a county (E10),
    '<name> council area' for a unitary authority, metropolitan district or London borough."""
    return f"{name} County Council area" if code.startswith("E10") else f"{name} council area"


def upper_tier_of(lad_codes: list[str], area_name: str) -> list[dict[str, Any]]:
    """The current upper-tier local authorities containing these LADs: a district's county
    (links of parent type 'utla'), else the LAD itself (a unitary authority, metropolitan
    district or London borough is its own upper tier). Each with `words`, e.g. 'Kent County
    Council area, which includes Maidstone'."""
    if not lad_codes:
        return []
    parents = _links(lad_codes, "utla")
    out: dict[str, dict[str, Any]] = {}
    for lad in lad_codes:
        hit = parents[parents.child_code == lad]
        if not hit.empty:
            code, name = hit.iloc[0].area_code, hit.iloc[0].area_name
        elif lad.startswith(("E06", "E08", "E09")):
            a = area(lad)
            code, name = lad, (a or {}).get("area_name", lad)
        else:
            continue
        rel = "the same area" if name == area_name else f"which includes {area_name}"
        out[code] = {"code": code, "name": name, "relation": rel, "current": True,
                     "words": f"{upper_tier_name(code, name)}, {rel}"}
    # Former councils (e.g. Cumbria County Council until March 2023) hold the earlier years.
    former = _frame(
        f"""
        SELECT DISTINCT a.area_code, a.area_name, l.valid_to
        FROM area_links l JOIN areas a ON a.area_code = l.parent_code
        WHERE l.child_code IN ({_placeholders(lad_codes)}) AND l.parent_type = 'utla' AND l.valid_to IS NOT NULL
        ORDER BY l.valid_to DESC, a.area_name
        """,
        tuple(lad_codes),
    )
    for r in former.itertuples():
        if r.area_code in out:
            continue
        until = pd.Timestamp(r.valid_to).strftime("%-d %B %Y")
        rel = f"which includes {area_name}"
        out[r.area_code] = {"code": r.area_code, "name": r.area_name, "relation": rel, "current": False,
                            "words": f"{upper_tier_name(r.area_code, r.area_name)} (until {until}), {rel}"}
    return list(out.values())


# ---------------------------------------------------------------- observations
_OBS_SELECT = """
    SELECT o.indicator_id, i.family, i.title, i.unit, i.polarity, i.geography_level, i.is_health_source,
           i.definition, i.method, i.series, i.basis, i.multiplier, i.decimals, i.value_type,
           o.area_code, a.area_name, a.area_type,
           o.period_start, o.period_end, o.period_label, o.period_type,
           o.count, o.denominator, o.value, o.lower_ci, o.upper_ci, o.suppressed_reason,
           o.quality, o.source_id, o.note,
           s.publisher, s.title AS source_title, s.url AS source_url, s.licence,
           (o.source_id NOT LIKE '%#%') AS is_current
    FROM observations o
    JOIN indicators i USING (indicator_id)
    LEFT JOIN (SELECT DISTINCT ON (area_code) area_code, area_name, area_type FROM areas
               ORDER BY area_code, valid_to NULLS FIRST) a USING (area_code)
    LEFT JOIN sources s ON s.source_id = split_part(o.source_id, '#', 1)
"""


def observations(
    indicator_ids: list[str] | tuple[str, ...] | None = None,
    area_codes: list[str] | tuple[str, ...] | None = None,
    *,
    period_type: str | None = None,
    period_label: str | None = None,
    current_only: bool = True,
) -> pd.DataFrame:
    """Observations with indicator, area and source metadata joined, oldest period first.
    `current_only` drops superseded vintages (source_id with a '#rev' suffix)."""
    where, params = ["TRUE"], []
    if indicator_ids is not None:
        where.append(f"o.indicator_id IN ({_placeholders(list(indicator_ids))})")
        params += list(indicator_ids)
    if area_codes is not None:
        where.append(f"o.area_code IN ({_placeholders(list(area_codes))})")
        params += list(area_codes)
    if period_type:
        where.append("o.period_type = ?")
        params.append(period_type)
    if period_label:
        where.append("o.period_label = ?")
        params.append(period_label)
    if current_only:
        where.append("o.source_id NOT LIKE '%#%'")
    return _frame(
        f"{_OBS_SELECT} WHERE {' AND '.join(where)} ORDER BY o.indicator_id, o.area_code, o.period_start, o.period_end",
        tuple(params),
    )


def indicator_series(indicator_id: str, area_codes: list[str], period_type: str | None = None) -> pd.DataFrame:
    """One indicator over time for some areas, in one period type (the preferred one if not
    given), so annual and quarterly figures are never drawn on one line."""
    df = observations([indicator_id], area_codes)
    if df.empty:
        return df
    if period_type is None:
        period_type = preferred_period_type(df["period_type"])
    return df[df["period_type"] == period_type].reset_index(drop=True)


def preferred_period_type(types: pd.Series) -> str:
    present = set(types.dropna())
    for t in PERIOD_TYPE_PREFERENCE:
        if t in present:
            return t
    return sorted(present)[0]


def series_breaks(indicator_ids: list[str], area_codes: list[str] | None = None) -> pd.DataFrame:
    params: list = list(indicator_ids)
    where = f"indicator_id IN ({_placeholders(indicator_ids)})"
    if area_codes is not None:
        where += f" AND area_code IN ({_placeholders(area_codes)})"
        params += list(area_codes)
    return _frame(f"SELECT * FROM series_breaks WHERE {where} ORDER BY break_date", tuple(params))


def all_series_breaks() -> pd.DataFrame:
    return _frame(
        "SELECT b.*, a.area_name FROM series_breaks b LEFT JOIN areas a USING (area_code) "
        "WHERE a.valid_to IS NULL OR a.area_code IS NULL ORDER BY indicator_id, area_code"
    )


# ---------------------------------------------------------------- national picture
# The producer's release behind a quoted national figure (national_figures_origin.csv) and any
# correction of its label: cited first, the quoting page as "as reported by" (app.citation).
_RELEASE_COLUMNS = ("n.producer, n.release_title, n.release_date, n.release_table, n.release_url, "
                    "n.origin_confidence, n.correction, n.no_official_source")
_NATIONAL_SOURCE_JOIN = """
    LEFT JOIN national_sources n
      ON n.indicator_id = o.indicator_id AND n.area_code = o.area_code
     AND n.period_start = o.period_start AND n.period_end = o.period_end AND n.is_current
"""


def _quality_rank_sql(column: str) -> str:
    cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in QUALITY_RANK.items())
    return f"CASE {column} {cases} ELSE {len(QUALITY_RANK)} END"


def latest_national() -> pd.DataFrame:
    """For each family: the latest current national figure that leads it, with period, quality,
    publisher and the URL of the page it was quoted from.

    Which figure leads is a rule: never a synthetic one; the best quality (official first); among
    equals the family's headline indicator, then the latest period. So a family whose headline
    series is absent still leads with a real national figure, and a stand-in never does."""
    families = list(FAMILIES)
    heads = [x for fam in families for x in (fam, HEADLINE_INDICATORS.get(fam, ""))]
    df = _frame(
        f"""
        WITH h(family, indicator_id) AS (VALUES {", ".join("(?, ?)" for _ in families)})
        SELECT i.family, o.indicator_id, i.title, i.short_title, i.unit, i.basis, i.multiplier, i.decimals,
               i.value_type, o.area_code, a.area_name,
               o.period_label, o.period_start, o.period_end, o.value, o.count, o.quality, o.source_id, o.note,
               s.publisher, coalesce(n.source_title, s.title) AS source_title,
               coalesce(n.source_url, s.url) AS source_url, n.quote, {_RELEASE_COLUMNS}
        FROM observations o JOIN indicators i USING (indicator_id)
        JOIN areas a ON a.area_code = o.area_code AND a.valid_to IS NULL
        LEFT JOIN sources s ON s.source_id = split_part(o.source_id, '#', 1)
        LEFT JOIN h ON h.family = i.family AND h.indicator_id = o.indicator_id
        {_NATIONAL_SOURCE_JOIN}
        WHERE i.family IN ({_placeholders(families)}) AND o.source_id NOT LIKE '%#%'
          AND a.area_type IN ('national', 'country', 'uk') AND o.value IS NOT NULL
          AND o.quality NOT IN ({_placeholders(NEVER_HEADLINE)})
        QUALIFY row_number() OVER (
            PARTITION BY i.family
            ORDER BY {_quality_rank_sql("o.quality")}, (h.indicator_id IS NOT NULL) DESC,
                     o.period_end DESC, o.period_start DESC, o.indicator_id) = 1
        """,
        (*heads, *families, *NEVER_HEADLINE),
    )
    order = {f: i for i, f in enumerate(FAMILIES)}
    return df.sort_values("family", key=lambda s: s.map(order)).reset_index(drop=True)


def national_citation(indicator_id: str, area_code: str, period_label: str) -> dict[str, Any] | None:
    """The page a national figure was quoted from (title, URL), for citing one figure."""
    df = _frame(
        f"""SELECT n.source_title, n.source_url FROM observations o {_NATIONAL_SOURCE_JOIN}
            WHERE o.indicator_id = ? AND o.area_code = ? AND o.period_label = ? AND n.source_title IS NOT NULL
            AND o.source_id NOT LIKE '%#%' LIMIT 1""",
        (indicator_id, area_code, period_label),
    )
    return None if df.empty else df.iloc[0].to_dict()


def national_series_names() -> pd.DataFrame:
    """Series that have national figures (one row per series, with its family)."""
    return _frame(
        """
        SELECT i.series, min(i.family) AS family, count(DISTINCT o.indicator_id) AS bases, count(*) AS points
        FROM observations o JOIN indicators i USING (indicator_id)
        WHERE split_part(o.source_id, '#', 1) IN ('national_figures', 'cco_gang_estimates')
          AND o.area_code IN ('K04000001', 'E92000001', 'W92000004', 'K02000001')
        GROUP BY i.series ORDER BY family, series
        """
    )


def national_series(series: str) -> pd.DataFrame:
    """Every national figure of one series, one basis (indicator) per line, current vintages
    flagged, with the source page and quote each value was taken from."""
    return _frame(
        f"""
        SELECT o.indicator_id, i.title, i.basis, i.unit, i.polarity, i.break_note, o.area_code, a.area_name,
               o.period_start, o.period_end, o.period_label, o.period_type, o.value, o.count,
               o.lower_ci, o.upper_ci, o.quality, o.source_id, (o.source_id NOT LIKE '%#%') AS is_current,
               coalesce(n.source_title, s.title) AS source_title, coalesce(n.source_url, s.url) AS source_url,
               n.quote, s.publisher, {_RELEASE_COLUMNS}
        FROM observations o JOIN indicators i USING (indicator_id)
        JOIN areas a ON a.area_code = o.area_code AND a.valid_to IS NULL
        LEFT JOIN sources s ON s.source_id = split_part(o.source_id, '#', 1)
        LEFT JOIN national_sources n
          ON n.indicator_id = o.indicator_id AND n.area_code = o.area_code
         AND n.period_start = o.period_start AND n.period_end = o.period_end
         AND n.is_current = (o.source_id NOT LIKE '%#%')
        WHERE i.series = ? AND o.area_code IN ('K04000001', 'E92000001', 'W92000004', 'K02000001')
          AND split_part(o.source_id, '#', 1) IN ('national_figures', 'cco_gang_estimates')
        ORDER BY o.indicator_id, o.period_end, is_current DESC
        """,
        (series,),
    )


def national_alternatives(indicator_id: str) -> pd.DataFrame:
    """All vintages quoted for one national indicator, superseded ones included."""
    return _frame(
        "SELECT * FROM national_sources WHERE indicator_id = ? ORDER BY period_end, vintage_rank",
        (indicator_id,),
    )


# ---------------------------------------------------------------- defaults
def indicator_quality_ranks() -> dict[str, int]:
    """Each indicator's best quality among its current observations, as a QUALITY_RANK number
    (0 = official ... 3 = synthetic)."""
    df = _frame(f"SELECT indicator_id, min({_quality_rank_sql('quality')}) AS rank FROM observations "
                "WHERE source_id NOT LIKE '%#%' GROUP BY indicator_id")
    return dict(zip(df["indicator_id"], df["rank"].astype(int), strict=True))


def lead_indicator(indicator_ids: list[str], preferred: str | None = None) -> str | None:
    """The indicator a page opens on, by rule: the best quality among `indicator_ids` (official
    before local, modelled and synthetic); `preferred` only breaks ties among the best, then the
    list's own order. A synthetic stand-in is the default only when nothing else exists."""
    ids = list(indicator_ids)
    if not ids:
        return None
    ranks = indicator_quality_ranks()
    worst = len(QUALITY_RANK)
    return min(ids, key=lambda i: (ranks.get(i, worst), i != preferred, ids.index(i)))


# ---------------------------------------------------------------- map
def map_periods(indicator_id: str, level: str) -> pd.DataFrame:
    return _frame(
        """
        SELECT o.period_label, o.period_type, min(o.period_start) AS period_start, count(*) AS areas
        FROM observations o JOIN areas a ON a.area_code = o.area_code AND a.valid_to IS NULL
        WHERE o.indicator_id = ? AND a.area_type = ? AND o.source_id NOT LIKE '%#%'
        GROUP BY ALL ORDER BY period_start DESC
        """,
        (indicator_id, level),
    )


def map_levels(indicator_id: str) -> list[str]:
    df = _frame(
        """
        SELECT DISTINCT a.area_type FROM observations o JOIN areas a ON a.area_code = o.area_code
        WHERE o.indicator_id = ? AND a.area_type IN ('csp', 'pfa')
        """,
        (indicator_id,),
    )
    return [lv for lv in ("csp", "pfa") if lv in set(df["area_type"])]


def map_values(indicator_id: str, level: str, period_label: str) -> pd.DataFrame:
    """Every current area of `level` with its map unit and its value for one period (missing
    where there is none), so areas with no data can be drawn and labelled."""
    return _frame(
        f"""
        WITH obs AS ({_OBS_SELECT}
            WHERE o.indicator_id = ? AND o.period_label = ? AND o.source_id NOT LIKE '%#%')
        SELECT a.area_code, a.area_name, a.area_type, b.map_unit, b.note AS map_note,
               obs.indicator_id, obs.title, obs.unit, obs.polarity, obs.is_health_source, obs.period_label,
               obs.period_start, obs.period_end, obs.count, obs.denominator, obs.value, obs.lower_ci,
               obs.upper_ci, obs.suppressed_reason, obs.quality, obs.source_id, obs.note, obs.publisher,
               obs.source_title, obs.multiplier, obs.decimals, obs.value_type
        FROM areas a
        JOIN boundaries b ON b.area_code = a.area_code
        LEFT JOIN obs ON obs.area_code = a.area_code
        WHERE a.area_type = ? AND a.valid_to IS NULL
        ORDER BY a.area_name
        """,
        (indicator_id, period_label, level),
    )


@st.cache_resource(max_entries=8, show_spinner=False)
def _geojson(level: str, path: str, version: str) -> dict[str, Any]:
    df = _cached_frame(
        """
        SELECT map_unit, any_value(geojson) AS geojson, string_agg(DISTINCT a.area_name, ', ' ORDER BY a.area_name) AS names
        FROM boundaries b JOIN areas a ON a.area_code = b.area_code AND a.valid_to IS NULL
        WHERE b.area_type = ? GROUP BY map_unit ORDER BY map_unit
        """,
        (level,), path, version,
    )
    features = [
        {"type": "Feature", "id": mu, "properties": {"map_unit": mu, "names": names}, "geometry": json.loads(g)}
        for mu, g, names in zip(df["map_unit"], df["geojson"], df["names"], strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def boundaries_geojson(level: str) -> dict[str, Any]:
    """One GeoJSON feature per map unit (feature id = map_unit): CSPs inside a split unitary
    authority share one shape, so they are drawn once. Cached as a resource (not copied)."""
    version = warehouse_version()
    if version is None:
        raise FileNotFoundError(f"no warehouse at {db_path()}")
    return _geojson(level, str(db_path()), version)


# ---------------------------------------------------------------- geography levels (Map, Compare)
# Every indicator is offered at each geography its publisher releases it at, and only where it
# has figures: CSP, local authority, upper-tier council, force area, region. Two rules:
# - upper tier ('utla'): DfE publishes per upper-tier council. Counties (E10) and the councils
#   no 2021 LAD carries are stored as 'utla' areas; unitary authorities, metropolitan districts
#   and London boroughs (E06/E08/E09) are stored once, as 'lad' (docs/geography.md). So for an
#   indicator published per upper-tier council, its 'lad' rows are upper-tier figures and belong
#   to the 'utla' level, never to a 'lad' level of a handful of unitaries.
# - region: offered where the publisher releases region figures (HES by region of residence;
#   ONS drug deaths, DfE and Fingertips publish region rows beside their local ones). Sources
#   released per CSP or force (police.uk, Home Office knife crime) have region rows only as our
#   own sums of complete forces, made as benchmarks; those are not mapped or ranked as if a
#   publisher had released them.
GEO_LEVELS = ("csp", "lad", "utla", "pfa", "region")
UPPER_TIER_LAD_PATTERN = "^E0[689]"  # unitary authority, metropolitan district, London borough

_LEVELLED_OBS = f"""
    SELECT o.indicator_id, o.area_code, o.period_label, o.period_type, o.period_start, o.period_end,
           a.valid_to,
           CASE WHEN a.area_type = 'utla' THEN 'utla'
                WHEN a.area_type = 'lad' AND i.geography_level = 'utla'
                     THEN CASE WHEN regexp_matches(o.area_code, '{UPPER_TIER_LAD_PATTERN}') THEN 'utla' END
                WHEN a.area_type = 'region' AND i.geography_level IN ('csp', 'pfa') THEN NULL
                WHEN a.area_type IN ('csp', 'lad', 'pfa', 'region') THEN a.area_type END AS level
    FROM observations o JOIN indicators i USING (indicator_id)
    JOIN (SELECT DISTINCT ON (area_code) area_code, area_type, valid_to FROM areas
          ORDER BY area_code, valid_to NULLS FIRST) a USING (area_code)
    WHERE o.source_id NOT LIKE '%#%'
"""
# Upper-tier figures of former councils (Cumbria until March 2023) stay on their years' maps;
# every other level shows current areas, as before.
_LEVEL_AREA_FILTER = "(level = 'utla' OR valid_to IS NULL)"


def indicator_levels_all() -> pd.DataFrame:
    """(indicator_id, level) for every indicator and every level it has figures at."""
    return _frame(f"SELECT DISTINCT indicator_id, level FROM ({_LEVELLED_OBS}) "
                  f"WHERE level IS NOT NULL AND {_LEVEL_AREA_FILTER} ORDER BY ALL")


def indicator_levels(indicator_id: str) -> list[str]:
    """The geographies one indicator can be mapped and compared at, nearest first (GEO_LEVELS
    order): only those it has figures at."""
    df = indicator_levels_all()
    have = set(df.loc[df["indicator_id"] == indicator_id, "level"])
    return [lv for lv in GEO_LEVELS if lv in have]


def level_periods(indicator_id: str, level: str) -> pd.DataFrame:
    """Periods with figures for one indicator at one level (as `map_periods`), newest first."""
    return _frame(
        f"""
        SELECT period_label, period_type, min(period_start) AS period_start, count(*) AS areas
        FROM ({_LEVELLED_OBS}) WHERE indicator_id = ? AND level = ? AND {_LEVEL_AREA_FILTER}
        GROUP BY ALL ORDER BY period_start DESC
        """,
        (indicator_id, level),
    )


def level_area_codes(indicator_id: str, level: str, period_label: str) -> list[str]:
    """The areas with a row (a value, or a suppressed one) for one indicator, level and period."""
    df = _frame(f"SELECT DISTINCT area_code FROM ({_LEVELLED_OBS}) WHERE indicator_id = ? AND level = ? "
                f"AND period_label = ? AND {_LEVEL_AREA_FILTER} ORDER BY area_code",
                (indicator_id, level, period_label))
    return list(df["area_code"])


def level_observations(indicator_id: str, level: str, period_label: str) -> pd.DataFrame:
    """Every figure of one indicator and period at one level (`observations` columns); at the
    upper tier that is counties and unitary councils together, each council once."""
    codes = level_area_codes(indicator_id, level, period_label)
    if not codes:
        return observations([indicator_id], [], period_label=period_label).iloc[0:0]
    return observations([indicator_id], codes, period_label=period_label)


def level_map_values(indicator_id: str, level: str, period_label: str) -> pd.DataFrame:
    """`map_values` for any level in GEO_LEVELS (the upper tier drawn as in that period)."""
    if level == "utla":
        return upper_tier_map_values(indicator_id, period_label)
    return map_values(indicator_id, level, period_label)


def _upper_tier_lads() -> pd.DataFrame:
    """(utla_code, lad_code): the 2021 districts each upper-tier council covers, whatever its
    dates (a unitary council covers itself)."""
    return _frame(
        f"""
        SELECT DISTINCT parent_code AS utla_code, child_code AS lad_code FROM area_links
        WHERE parent_type = 'utla' AND child_type = 'lad'
        UNION
        SELECT DISTINCT area_code, area_code FROM areas
        WHERE area_type = 'lad' AND regexp_matches(area_code, '{UPPER_TIER_LAD_PATTERN}')
        """
    )


def upper_tier_map_values(indicator_id: str, period_label: str) -> pd.DataFrame:
    """The upper tier as it was for one period, with `map_values`' columns: every council with a
    row for the period (Cumbria County Council for 2021/22, Cumberland for 2023/24), then every
    current council none of whose districts is already covered (drawn grey, 'no data'), so no
    shape is drawn twice. A council with no boundary (Dorset county to 2019, the pre-2019
    Bournemouth and Poole) keeps its row in the table with no map unit and says why."""
    obs = level_observations(indicator_id, "utla", period_label)
    lads = _upper_tier_lads()
    members = lads.groupby("utla_code")["lad_code"].agg(set).to_dict()
    covered = set().union(*(members.get(c, set()) for c in obs["area_code"])) if len(obs) else set()
    current = _frame(
        f"""
        SELECT area_code, area_name, area_type FROM areas
        WHERE valid_to IS NULL AND (area_type = 'utla'
              OR (area_type = 'lad' AND regexp_matches(area_code, '{UPPER_TIER_LAD_PATTERN}')))
        ORDER BY area_name
        """
    )
    extra = current[[c not in set(obs["area_code"]) and not (members.get(c, {c}) & covered)
                     for c in current["area_code"]]]
    codes = list(obs["area_code"]) + list(extra["area_code"])
    shapes = _frame(
        f"""SELECT area_code, map_unit, note AS map_note FROM boundaries
            WHERE area_code IN ({_placeholders(codes)}) AND area_type IN ('utla', 'lad')""",
        tuple(codes),
    ) if codes else pd.DataFrame(columns=["area_code", "map_unit", "map_note"])
    cols = ["area_code", "area_name", "area_type", "map_unit", "map_note", "indicator_id", "title", "unit",
            "polarity", "is_health_source", "period_label", "period_start", "period_end", "count", "denominator",
            "value", "lower_ci", "upper_ci", "suppressed_reason", "quality", "source_id", "note", "publisher",
            "source_title"]
    out = pd.concat([obs, extra], ignore_index=True)
    out = out.merge(shapes.drop_duplicates("area_code"), on="area_code", how="left")
    no_shape = out["map_unit"].isna()
    out.loc[no_shape, "map_note"] = ("not drawn: no boundary matches this former council's area on 2021 "
                                     "districts (figures listed here only)")
    for c in cols:
        if c not in out:
            out[c] = None
    return out[cols].sort_values("area_name").reset_index(drop=True)


@st.cache_resource(max_entries=16, show_spinner=False)
def _unit_geojson(codes: tuple[str, ...], path: str, version: str) -> dict[str, Any]:
    df = _cached_frame(
        f"""
        SELECT b.map_unit, any_value(b.geojson) AS geojson, string_agg(DISTINCT a.area_name, ', ') AS names
        FROM boundaries b JOIN (SELECT DISTINCT ON (area_code) area_code, area_name FROM areas
                                ORDER BY area_code, valid_to NULLS FIRST) a USING (area_code)
        WHERE b.area_code IN ({_placeholders(codes)}) AND b.area_type IN ('utla', 'lad')
        GROUP BY b.map_unit ORDER BY b.map_unit
        """,
        codes, path, version,
    )
    features = [
        {"type": "Feature", "id": mu, "properties": {"map_unit": mu, "names": names}, "geometry": json.loads(g)}
        for mu, g, names in zip(df["map_unit"], df["geojson"], df["names"], strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def level_geojson(level: str, area_codes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The shapes to draw at one level: `boundaries_geojson(level)`, except at the upper tier,
    whose shapes depend on the period (pass the areas of `upper_tier_map_values`)."""
    if level != "utla":
        return boundaries_geojson(level)
    version = warehouse_version()
    if version is None:
        raise FileNotFoundError(f"no warehouse at {db_path()}")
    codes = tuple(sorted(set(area_codes)))
    if not codes:
        return {"type": "FeatureCollection", "features": []}
    return _unit_geojson(codes, str(db_path()), version)


def profile_area_codes() -> set[str]:
    """Codes the Area profile page opens (current CSPs, local authorities and force areas), so
    a map of counties or regions links only where a profile exists."""
    return set(areas(LOCAL_LEVELS)["area_code"])


# ---------------------------------------------------------------- data & sources
def sources() -> pd.DataFrame:
    return _frame("SELECT * FROM sources ORDER BY family, source_id")


def source_files() -> pd.DataFrame:
    return _frame("SELECT * FROM source_files ORDER BY source_id, file_name")


def source_coverage() -> pd.DataFrame:
    """Per source: the periods, areas and quality it contributes to observations."""
    return _frame(
        """
        SELECT split_part(source_id, '#', 1) AS source_id, min(period_start) AS first_period,
               max(period_end) AS last_period, count(DISTINCT area_code) AS areas,
               count(DISTINCT indicator_id) AS indicators, count(*) AS observations,
               string_agg(DISTINCT quality, ', ') AS quality
        FROM observations GROUP BY 1 ORDER BY 1
        """
    )


def coverage_grid() -> pd.DataFrame:
    """police.uk files by force and month: present / partial / missing, with the reason."""
    return _frame("SELECT * FROM police_uk_coverage ORDER BY force, month")


def police_uk_reconciliation() -> pd.DataFrame:
    return _frame(
        "SELECT month, status, sum(n) AS records FROM police_uk_reconciliation GROUP BY ALL ORDER BY month, status"
    )


def refreshes() -> pd.DataFrame:
    return _frame("SELECT * FROM refreshes ORDER BY started_at DESC")


def sources_not_loaded() -> pd.DataFrame:
    """Manifest sources the last refresh found no file for, with why (empty for an older warehouse)."""
    try:
        return _frame("SELECT * FROM sources_not_loaded ORDER BY source_id")
    except duckdb.Error:
        return pd.DataFrame(columns=["source_id", "family", "publisher", "title", "url", "reason"])


def last_failed_refresh() -> dict[str, Any] | None:
    """The latest failed refresh in the log the refresh writes beside the warehouse
    (`refresh-log.jsonl`; a failed build never reaches the warehouse itself), and whether a
    later run succeeded. None when there is no log or no failure in it. A line cut short by a
    crash is skipped."""
    log = db_path().parent / "refresh-log.jsonl"
    if not log.is_file():
        return None
    runs = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                runs.append(entry)
    fails = [i for i, r in enumerate(runs) if r.get("status") == "failed"]
    if not fails:
        return None
    last = runs[fails[-1]]
    later = any(r.get("status") in ("built", "unchanged") for r in runs[fails[-1] + 1:])
    return {"started_at": last.get("started_at"), "message": last.get("message"), "succeeded_since": later}


def revisions() -> pd.DataFrame:
    return _frame("SELECT * FROM revisions ORDER BY indicator_id, period_label")


def not_estimated() -> pd.DataFrame:
    return _frame(
        "SELECT n.*, a.area_name FROM not_estimated n LEFT JOIN areas a USING (area_code) "
        "WHERE a.valid_to IS NULL ORDER BY a.area_name"
    )


def data_checks() -> pd.DataFrame:
    return _frame(
        "SELECT source_id, file, \"check\", rows, detail FROM istv_data_checks "
        "UNION ALL SELECT source_id, file, 'skipped rows', rows, reason FROM skipped_rows ORDER BY 1, 2"
    )


def all_observations() -> pd.DataFrame:
    """The whole observations table with metadata, superseded vintages included (flagged)."""
    return observations(current_only=False)


# ---------------------------------------------------------------- ISTV (A&E)
def istv_csps() -> pd.DataFrame:
    return _frame(
        """
        SELECT DISTINCT i.csp_code AS area_code, a.area_name FROM istv_counts i
        JOIN areas a ON a.area_code = i.csp_code AND a.valid_to IS NULL ORDER BY a.area_name
        """
    )


def istv_months(csp_code: str) -> list[pd.Timestamp]:
    df = _frame("SELECT DISTINCT month FROM istv_counts WHERE csp_code = ? ORDER BY month", (csp_code,))
    return list(pd.to_datetime(df["month"]))


def istv_counts(csp_code: str, dimension: str, first_month: str, last_month: str) -> pd.DataFrame:
    """ISTV attendance counts for one CSP and dimension (weapon, hour, dow, hour_dow, month),
    summed over the months from `first_month` to `last_month` (YYYY-MM-DD), or per month when
    dimension is 'month'."""
    return istv_counts_by_dimension(csp_code, (dimension,), first_month, last_month)[dimension]


def istv_counts_by_dimension(csp_code: str, dimensions: tuple[str, ...], first_month: str,
                             last_month: str) -> dict[str, pd.DataFrame]:
    """`istv_counts` for several dimensions at once, cut from the CSP's one monthly table
    (`_istv_csp`): the A&E page's disclosure control, run for every CSP and year by the
    whole-observations download, asks for five dimensions of the same CSP and months."""
    rows = _istv_csp(csp_code)
    in_range = (rows["month"] >= pd.Timestamp(first_month)) & (rows["month"] <= pd.Timestamp(last_month))
    out: dict[str, pd.DataFrame] = {}
    for dimension in dimensions:
        part = rows[in_range & (rows["dimension"] == dimension)]
        key = "month" if dimension == "month" else "category"
        grouped = part.groupby(key, sort=True)
        out[dimension] = pd.DataFrame({
            "count": grouped["count"].sum(min_count=1),  # all missing stays missing, as SQL's sum
            "quality": grouped["quality"].first(),
            "source_id": grouped["source_id"].first(),
        }).reset_index()
    return out


def _istv_csp(csp_code: str) -> pd.DataFrame:
    """Every ISTV count of one CSP by dimension, category and month (one query, cached)."""
    df = _frame(
        """
        SELECT dimension, category, month, sum(count) AS count,
               any_value(quality) AS quality, any_value(source_id) AS source_id
        FROM istv_counts WHERE csp_code = ? GROUP BY dimension, category, month
        ORDER BY dimension, category, month
        """,
        (csp_code,),
    )
    df["month"] = pd.to_datetime(df["month"])
    return df


# ---------------------------------------------------------------- like-for-like benchmarks
def like_for_like_benchmarks(indicator_id: str, figure_level: str, period_label: str) -> pd.DataFrame:
    """Benchmarks built to count exactly as figures at `figure_level` do (police.uk: records
    placed in a CSP of a force with a complete month), with a `basis` saying what each sums.
    Empty when the source has none (its published aggregates are then the benchmarks) or the
    warehouse predates the table."""
    try:
        return _frame(
            """
            SELECT b.*, i.is_health_source FROM benchmarks b JOIN indicators i USING (indicator_id)
            WHERE b.indicator_id = ? AND b.figure_level = ? AND b.period_label = ?
            """,
            (indicator_id, figure_level, period_label),
        )
    except duckdb.CatalogException:
        return pd.DataFrame()


def recording_breaks(indicator_id: str) -> pd.DataFrame:
    """Known recording problems of one indicator that stop comparisons (series_breaks rows with
    `affects`); empty for a warehouse built before that column existed."""
    try:
        return _frame(
            "SELECT area_code, break_date, affects, description FROM series_breaks "
            "WHERE indicator_id = ? AND affects IS NOT NULL",
            (indicator_id,),
        )
    except (duckdb.BinderException, duckdb.CatalogException):
        return pd.DataFrame(columns=["area_code", "break_date", "affects", "description"])


# ---------------------------------------------------------------- most similar partnerships
SIMILAR_COLUMNS = ["area_code", "neighbour_code", "neighbour_name", "rank", "distance", "method_version",
                   "characteristics_used", "sources"]


def similar_partnerships(code: str) -> pd.DataFrame:
    """A CSP's most similar partnerships (built at refresh, etl/similar_areas.py), most similar
    first, with names. Empty when the area has no group (no population of its own, not a CSP)
    or the warehouse predates the table."""
    try:
        return _frame(
            """
            SELECT s.area_code, s.neighbour_code, a.area_name AS neighbour_name, s.rank, s.distance,
                   s.method_version, s.characteristics_used, s.sources
            FROM similar_areas s JOIN areas a ON a.area_code = s.neighbour_code AND a.valid_to IS NULL
            WHERE s.area_code = ? ORDER BY s.rank
            """,
            (code,),
        )
    except duckdb.CatalogException:
        return pd.DataFrame(columns=SIMILAR_COLUMNS)


def similar_group_areas() -> pd.DataFrame:
    """The CSPs that have a group (area_code, area_name), for choosing one."""
    try:
        return _frame(
            """
            SELECT DISTINCT s.area_code, a.area_name FROM similar_areas s
            JOIN areas a ON a.area_code = s.area_code AND a.valid_to IS NULL ORDER BY a.area_name
            """
        )
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["area_code", "area_name"])


def similar_characteristics(codes: list[str]) -> pd.DataFrame:
    """The characteristics the groups were built from, for some CSPs: value, z-score, weight,
    period and source per characteristic (empty for a warehouse without them)."""
    if not codes:
        return pd.DataFrame(columns=["area_code", "characteristic", "label", "group_name", "weight", "value", "z",
                                     "period", "source_id"])
    try:
        return _frame(
            f"SELECT * FROM similar_area_characteristics WHERE area_code IN ({_placeholders(codes)}) "
            "ORDER BY area_code, characteristic",
            tuple(codes),
        )
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["area_code", "characteristic", "label", "group_name", "weight", "value", "z",
                                     "period", "source_id"])


# ---------------------------------------------------------------- split and merged partnerships
def split_councils(csp_code: str) -> pd.DataFrame:
    """The current local authorities of a CSP that are split across several CSPs (Buckinghamshire
    for Aylesbury Vale), with how many partnerships each is split across. Empty for a CSP whose
    councils are all whole (it then has a population of its own)."""
    return _frame(
        """
        WITH mine AS (SELECT child_code FROM area_links WHERE parent_code = ? AND child_type = 'lad'
                      AND parent_type = 'csp' AND valid_to IS NULL)
        SELECT l.child_code AS area_code, a.area_name, count(DISTINCT l.parent_code) AS partnerships
        FROM area_links l JOIN mine USING (child_code)
        JOIN areas a ON a.area_code = l.child_code AND a.valid_to IS NULL
        WHERE l.parent_type = 'csp' AND l.child_type = 'lad' AND l.valid_to IS NULL
        GROUP BY ALL HAVING count(DISTINCT l.parent_code) > 1 ORDER BY a.area_name
        """,
        (csp_code,),
    )


# ---------------------------------------------------------------- HES breakdowns (sex, age, ethnicity)
def hes_breakdowns(area_codes: list[str], financial_year: str | None = None) -> pd.DataFrame:
    """NHS Digital's sex / age group / ethnicity tables of HES sharp-object episodes for some
    regions (and England), as parsed (`hes_sharp_object_breakdowns`: monthly rows, the
    publisher's year totals where it gives them), one financial year or all. Empty for a
    warehouse without the table."""
    where, params = f"area_code IN ({_placeholders(area_codes)})", list(area_codes)
    if financial_year:
        where += " AND financial_year = ?"
        params.append(financial_year)
    try:
        return _frame(f"SELECT * FROM hes_sharp_object_breakdowns WHERE {where} "
                      "ORDER BY dimension, financial_year, period_label, category_key", tuple(params))
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["dimension", "category", "category_key", "residence", "area_code",
                                     "financial_year", "period_label", "measure", "count", "suppressed_reason"])


def hes_breakdown_years() -> list[str]:
    """Financial years of the breakdown tables, newest first."""
    try:
        df = _frame("SELECT DISTINCT financial_year FROM hes_sharp_object_breakdowns ORDER BY 1 DESC")
    except duckdb.CatalogException:
        return []
    return list(df["financial_year"])


def hes_provisional_years() -> set[str]:
    """Financial years whose HES figures NHS Digital calls provisional (from the notes the
    parser writes on the England rows, as the workbook's title says)."""
    df = _frame("SELECT DISTINCT period_label FROM observations WHERE indicator_id LIKE 'hes_sharp_object_assault_f%' "
                "AND period_type = 'financial_year' AND note ILIKE 'provisional%'")
    return set(df["period_label"])


# ---------------------------------------------------------------- area hierarchy (disclosure)
def area_link_pairs() -> pd.DataFrame:
    """Every child_code/parent_code link of every vintage: the sums a user could difference
    across the area hierarchy (app.linked_disclosure)."""
    return _frame("SELECT DISTINCT child_code, parent_code FROM area_links ORDER BY 1, 2")


def like_for_like_series(indicator_id: str, figure_level: str, area_codes: list[str]) -> pd.DataFrame:
    """Like-for-like benchmark rows of some areas over every period (the profile's trend
    chart), with the area's name; empty when the source has none or the table is absent."""
    if not area_codes:
        return pd.DataFrame()
    try:
        return _frame(
            f"""
            SELECT b.*, i.is_health_source, a.area_name, a.area_type FROM benchmarks b
            JOIN indicators i USING (indicator_id)
            LEFT JOIN (SELECT DISTINCT ON (area_code) area_code, area_name, area_type FROM areas
                       ORDER BY area_code, valid_to NULLS FIRST) a USING (area_code)
            WHERE b.indicator_id = ? AND b.figure_level = ? AND b.area_code IN ({_placeholders(area_codes)})
            ORDER BY b.area_code, b.period_start
            """,
            (indicator_id, figure_level, *area_codes),
        )
    except duckdb.CatalogException:
        return pd.DataFrame()


# ---------------------------------------------------------------- the region of a council or district
def area_regions() -> pd.DataFrame:
    """(area_code, region_code, region_name) for every upper-tier council (its own link to its
    region, former councils too), local authority and CSP (through its force area, which lies
    in one region): the region a utla/lad/csp figure is set against when its registry row
    allows the 'region' comparator. Welsh areas have none (Wales is not a region here)."""
    df = _frame(
        """
        WITH regions AS (SELECT DISTINCT area_code, area_name FROM areas WHERE area_type = 'region'),
        csp_region AS (SELECT DISTINCT cp.child_code AS csp_code, pr.parent_code AS region_code
                       FROM area_links cp JOIN area_links pr ON pr.child_code = cp.parent_code
                       AND pr.child_type = 'pfa' AND pr.parent_type = 'region'
                       WHERE cp.child_type = 'csp' AND cp.parent_type = 'pfa'),
        pairs AS (
            SELECT child_code AS area_code, parent_code AS region_code FROM area_links
            WHERE child_type = 'utla' AND parent_type = 'region'
            UNION SELECT csp_code, region_code FROM csp_region
            UNION SELECT l.child_code, c.region_code FROM area_links l JOIN csp_region c ON c.csp_code = l.parent_code
            WHERE l.child_type = 'lad' AND l.parent_type = 'csp')
        SELECT p.area_code, p.region_code, r.area_name AS region_name
        FROM pairs p JOIN regions r ON r.area_code = p.region_code ORDER BY p.area_code, p.region_code
        """
    )
    return df.drop_duplicates("area_code").reset_index(drop=True)


def area_region(code: str) -> tuple[str, str] | None:
    """(region code, region name) of one upper-tier council, local authority or CSP
    (`area_regions`), else None."""
    df = area_regions()
    hit = df[df["area_code"] == code]
    return None if hit.empty else (str(hit.iloc[0]["region_code"]), str(hit.iloc[0]["region_name"]))
