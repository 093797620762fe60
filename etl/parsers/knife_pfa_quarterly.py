"""Parser for the redistributed Home Office knife-crime file (`ho_knife_pfa_quarterly`).

The file (`knifecrime_pfa_quarterly.csv`, MANIFEST section knife_crime/) holds police recorded
selected offences involving a knife or sharp instrument, by police force area and financial
quarter, 2008/09 Q1 to 2018/19 Q4, for 42 forces (no City of London, no British Transport
Police). A third party regrouped the offences into three columns and added its own population,
rate and z-score columns. We keep the counts only and derive everything else ourselves:

* rates per 100,000 come from the ONS mid-year population of the matching year held in the
  `GeoContext` (never from the file's fixed `Population`, `Rate*` or `ZScore*` columns);
* financial-year totals are produced only when all four quarters are present;
* England & Wales, country and region figures are sums of the forces in this file, labelled so,
  because the file's forces do not cover the whole of those areas;
* the known breaks (Greater Manchester under-count, Thames Valley low: rows of the indicator
  registry's `data/indicator_breaks.csv`) are returned in the `series_breaks` table so charts
  can mark them and comparisons stop at them; titles, units and definitions are registry rows.

Row numbers in errors are file line numbers (the header is row 1).
Imports: pandas, etl.* and methods.rates. Never streamlit.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from etl.checksums import sha256_file
from etl.codes import ENGLAND, ENGLAND_AND_WALES, WALES
from etl.errors import SourceError
from etl.geocontext import GeoContext, normalise_area_name
from etl.periods import Period, financial_quarter, financial_year, parse_period
from etl.registry import breaks_for, indicator_rows
from etl.staged import Staged, finish_observations
from etl.suppression import parse_count
from methods.rates import crude_rate_frame

# indicator id -> the file's column holding its count
COUNT_COLUMNS: dict[str, str] = {
    "knife_offences_total": "Knife Crime",
    "knife_homicide_attempted_murder": "Homicide and serious injury",
    "knife_violence_with_injury": "Violence with Injury",
    "knife_robbery_sexual": "Knife enabled",
}
COMPONENTS = ("Homicide and serious injury", "Violence with Injury", "Knife enabled")
REQUIRED_COLUMNS = ["QtrNum", "Force Name", "Region", "Financial Year", "Financial Quarter",
                    *COUNT_COLUMNS.values()]


ALL_FORCES_NOTE = "sum of the 42 forces in this file (excludes City of London, BTP)"
# The file's region labels that differ from ONS region names.
REGION_ALIASES = {"east": "east of england", "yorkshire": "yorkshire and the humber"}
PER = 100_000


# --- rates -----------------------------------------------------------------------------------

def add_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill value/lower_ci/upper_ci from `count` and `denominator` (per 100,000), with
    `methods.rates` (crude rate with a 95% Byar / exact Poisson interval). Rows without a count
    or a denominator keep value None.
    """
    out = frame.copy()
    count = pd.to_numeric(out["count"], errors="coerce").astype("float64")
    pop = pd.to_numeric(out["denominator"], errors="coerce").astype("float64")
    ok = count.notna() & pop.notna() & (pop > 0) & (count >= 0)
    r = crude_rate_frame(pd.DataFrame({"count": count, "denominator": pop}), per=PER)
    out["value"] = r["value"].where(ok)
    out["lower_ci"] = r["lower_ci"].where(ok)
    out["upper_ci"] = r["upper_ci"].where(ok)
    return out


RATE_INTERVAL = "95% interval: Byar's approximation for counts >= 10, exact Poisson below"


def mid_year_for(period: Period) -> int:
    """The ONS mid-year (30 June) that falls inside a period: 2018/19 and its quarters -> 2018.
    Quarters use their financial year's mid-year so a year's four quarters share a denominator."""
    if period.kind == "quarter":
        return period.start.year if period.start.month >= 4 else period.start.year - 1
    return period.start.year if period.start.month <= 6 else period.start.year + 1


class PopulationLookup:
    """`geo.population_for` (indexed once by the GeoContext), plus sums over several areas, with
    a note saying which mid-year was used (the nearest year when the matching one is absent)."""

    def __init__(self, geo: GeoContext) -> None:
        self.geo = geo

    def one(self, code: str, year: int) -> tuple[float | None, int | None]:
        return self.geo.population_for(code, year)

    def total(self, codes: list[str], year: int) -> tuple[float | None, str]:
        pops = [self.one(c, year) for c in codes]
        if not pops or any(p is None for p, _ in pops):
            missing = [c for c, (p, _) in zip(codes, pops) if p is None]
            return None, f"no ONS population for {', '.join(missing)}: rate not computed"
        used = sorted({y for _, y in pops if y is not None})
        total = float(sum(p for p, _ in pops if p is not None))
        whose = " of the same forces" if len(codes) > 1 else ""
        if used == [year]:
            return total, f"rate per 100,000 from ONS mid-{year} population{whose}"
        years = ", ".join(f"mid-{y}" for y in used)
        return total, (f"rate per 100,000 from ONS {years} population{whose} "
                       f"(nearest available; mid-{year} absent)")


# --- reading ---------------------------------------------------------------------------------

def _read_rows(path: Path, source_id: str) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read file: {exc}", source_id=source_id, file=path.name) from None
    if not rows:
        raise SourceError("file is empty (no header row)", source_id=source_id, file=path.name,
                          row=1)
    header = [h.strip() for h in rows[0]]
    for col in REQUIRED_COLUMNS:
        if col not in header:
            raise SourceError(f"expected column {col!r} not found in header {header}",
                              source_id=source_id, file=path.name, row=1, column=col)
    return header, rows[1:]


def _region_code(geo: GeoContext, name: str) -> str | None:
    """Code for the file's region label ('East', 'Yorkshire', 'Wales', ...)."""
    key = normalise_area_name(name)
    if key == "wales":
        return WALES
    return (geo.area_code_by_name(key, "region")
            or geo.area_code_by_name(REGION_ALIASES.get(key, key), "region"))


def _geo_region_of(geo: GeoContext, pfa: str) -> list[str]:
    """The region (England) or Wales that a force area nests in, per the geography links:
    a direct PFA -> region link, else the regions of its LADs."""
    if pfa.startswith("W15"):
        return [WALES]
    found = geo.parents(pfa, "region")
    if not found:
        found = sorted({r for lad in geo.children(pfa, "lad") for r in geo.parents(lad, "region")})
    return found


def _quarter(text: str) -> int | None:
    m = re.fullmatch(r"q?([1-4])", text.strip().lower())
    return int(m.group(1)) if m else None


def _tidy_rows(path: Path, geo: GeoContext, source_id: str) -> pd.DataFrame:
    """One row per force and quarter, counts parsed and every cross-check done."""
    header, rows = _read_rows(path, source_id)
    idx = {c: header.index(c) for c in REQUIRED_COLUMNS}

    def err(message: str, row: int, column: str | None) -> SourceError:
        return SourceError(message, source_id=source_id, file=path.name, row=row, column=column)

    records = []
    region_checked: dict[str, str] = {}
    # names repeat on every row: look each up once
    pfa_of: dict[str, str | None] = {}
    region_of: dict[str, str | None] = {}
    for line, raw in enumerate(rows, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) < len(header):
            raise err(f"row has {len(raw)} cells, header has {len(header)}", line, None)
        cell = {c: raw[i].strip() for c, i in idx.items()}
        force = cell["Force Name"]
        if force not in pfa_of:
            pfa_of[force] = geo.pfa_code(force)
        pfa = pfa_of[force]
        if pfa is None:
            raise err(f"unknown force name {force!r} (not a police force area in the geography)",
                      line, "Force Name")
        try:
            fy = parse_period(cell["Financial Year"])
        except ValueError:
            fy = None
        if fy is None or fy.kind != "financial_year":
            raise err(f"not a financial year: {cell['Financial Year']!r}", line, "Financial Year")
        q = _quarter(cell["Financial Quarter"])
        if q is None:
            raise err(f"not a quarter (Q1-Q4): {cell['Financial Quarter']!r}", line,
                      "Financial Quarter")
        if not cell["QtrNum"].isdigit():
            raise err(f"QtrNum is not a whole number: {cell['QtrNum']!r}", line, "QtrNum")
        if cell["Region"] not in region_of:
            region_of[cell["Region"]] = _region_code(geo, cell["Region"])
        region_code = region_of[cell["Region"]]
        if region_code is None:
            raise err(f"unknown region {cell['Region']!r}", line, "Region")
        if pfa not in region_checked:
            expected = _geo_region_of(geo, pfa)
            if not expected:
                raise err(f"the geography has no region for {force} ({pfa}), so the Region "
                          "column cannot be checked", line, "Region")
            if region_code not in expected:
                names = ", ".join(f"{geo.name_of(c) or c} ({c})" for c in expected)
                raise err(f"{force} is in {names} per the geography lookups, not "
                          f"{cell['Region']!r}", line, "Region")
            region_checked[pfa] = region_code
        elif region_checked[pfa] != region_code:
            raise err(f"{force} is given two regions in this file", line, "Region")
        records.append({"row": line, "force": force, "pfa": pfa, "region": region_code,
                        "fy_start": fy.start.year, "quarter": q, "qtrnum": int(cell["QtrNum"]),
                        **{c: cell[c] for c in COUNT_COLUMNS.values()}})
    if not records:
        raise SourceError("no data rows", source_id=source_id, file=path.name)
    df = pd.DataFrame.from_records(records)

    for col in COUNT_COLUMNS.values():
        numbers, reason, bad = parse_count(df[col])
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise err(f"not a count: {df[col].iloc[i]!r}", int(df["row"].iloc[i]), col)
        fractional = numbers.notna() & (numbers != numbers.round())
        if fractional.any():
            i = int(fractional.to_numpy().nonzero()[0][0])
            raise err(f"count is not a whole number: {df[col].iloc[i]!r}", int(df["row"].iloc[i]),
                      col)
        df[col] = numbers.astype("float64")
        df[f"{col} reason"] = reason.astype("object")

    parts = df[list(COMPONENTS)]
    complete = parts.notna().all(axis=1) & df["Knife Crime"].notna()
    mismatch = complete & (parts.sum(axis=1) != df["Knife Crime"])
    if mismatch.any():
        r = df[mismatch].iloc[0]
        raise err(f"'Knife Crime' {r['Knife Crime']:g} is not the sum of the three offence "
                  f"columns ({r[list(COMPONENTS)].sum():g})", int(r["row"]), "Knife Crime")

    dup = df.duplicated(["pfa", "fy_start", "quarter"])
    if dup.any():
        r = df[dup].iloc[0]
        raise err(f"{r['force']} {r['fy_start']} Q{r['quarter']} appears twice", int(r["row"]),
                  "Force Name")
    # QtrNum is a running quarter number: it must move in step with year and quarter.
    offset = df["fy_start"] * 4 + df["quarter"] - df["qtrnum"]
    off = offset != offset.mode().iloc[0]
    if off.any():
        r = df[off].iloc[0]
        raise err(f"QtrNum {r['qtrnum']} does not match {r['fy_start']} Q{r['quarter']}",
                  int(r["row"]), "QtrNum")
    return df


# --- building observations -------------------------------------------------------------------

def _long(df: pd.DataFrame) -> pd.DataFrame:
    """Force x quarter x indicator, with count, suppression reason and source row."""
    frames = []
    for ind, col in COUNT_COLUMNS.items():
        frames.append(pd.DataFrame({
            "indicator_id": ind, "area_code": df["pfa"], "fy_start": df["fy_start"],
            "quarter": df["quarter"], "count": df[col], "reason": df[f"{col} reason"],
            "row": df["row"]}))
    return pd.concat(frames, ignore_index=True)


def _sum_complete(frame: pd.DataFrame, keys: list[str], expected: pd.Series | int) -> pd.DataFrame:
    """Sum `count` over groups, keeping only groups whose every expected member has a count:
    a total with a member missing would be a silent under-count."""
    g = frame.groupby(keys, as_index=False).agg(
        count=("count", "sum"), n=("count", "count"),
        negatives=("count", lambda s: ", ".join(f"{v:g}" for v in s if v < 0)))
    if isinstance(expected, pd.Series):
        need = g["area_code"].map(expected)
    else:
        need = expected
    return g[g["n"] == need].drop(columns="n")


def _periods(frame: pd.DataFrame) -> pd.DataFrame:
    def period(fy: int, q: int | None) -> Period:
        return financial_year(fy) if q is None else financial_quarter(fy, q)
    ps = [period(int(fy), None if pd.isna(q) else int(q))
          for fy, q in zip(frame["fy_start"], frame["quarter"])]
    out = frame.copy()
    out["period_start"] = [pd.Timestamp(p.start) for p in ps]
    out["period_end"] = [pd.Timestamp(p.end) for p in ps]
    out["period_label"] = [p.label for p in ps]
    out["period_type"] = [p.kind for p in ps]
    out["mid_year"] = [mid_year_for(p) for p in ps]
    return out


def _with_rates(frame: pd.DataFrame, members: dict[str, list[str]], pops: PopulationLookup,
                labels: dict[str, str]) -> pd.DataFrame:
    """count, denominator, rate and interval, suppression reason and note for each row."""
    rows = []
    for r in frame.itertuples(index=False):
        notes = [labels[r.area_code]] if r.area_code in labels else []
        count, reason = r[frame.columns.get_loc("count")], r.reason
        denominator = None
        if isinstance(r.negatives, str) and r.negatives:
            notes.append(f"includes negative adjustment(s) in the source ({r.negatives}), kept "
                         "in the sum")
        if pd.isna(count):
            count = None
            reason = reason if isinstance(reason, str) and reason else "not published"
        elif count < 0:
            notes.append(f"published count is negative ({count:g}): an adjustment, not shown")
            count, reason = None, "negative count in source (adjustment)"
        else:
            reason = None
            pop, pop_note = pops.total(members.get(r.area_code, [r.area_code]), int(r.mid_year))
            notes.append(pop_note)
            if pop is None:
                reason = "no population for rate"
            else:
                denominator = pop
        rows.append({"count": count, "denominator": denominator, "suppressed_reason": reason,
                     "note": "; ".join(notes) or None})
    out = pd.concat([frame.drop(columns=["count"]).reset_index(drop=True), pd.DataFrame(rows)],
                    axis=1)
    return add_rates(out)


def _aggregate_members(df: pd.DataFrame) -> dict[str, list[str]]:
    """E&W, England, Wales and each region -> the forces of this file inside it."""
    members: dict[str, list[str]] = {}
    forces = df.drop_duplicates("pfa")[["pfa", "region"]]
    for pfa, region in zip(forces["pfa"], forces["region"]):
        country = WALES if pfa.startswith("W15") else ENGLAND
        for code in {ENGLAND_AND_WALES, country, region}:
            members.setdefault(code, []).append(pfa)
    return {k: sorted(v) for k, v in members.items()}


def _aggregate_labels(members: dict[str, list[str]], n_forces: int, geo: GeoContext
                      ) -> dict[str, str]:
    labels = {}
    for code, pfas in members.items():
        if code == ENGLAND_AND_WALES:
            labels[code] = (ALL_FORCES_NOTE if n_forces == 42 else
                            f"sum of the {n_forces} forces in this file (excludes City of "
                            "London, BTP)")
        else:
            name = geo.name_of(code) or ("Wales" if code == WALES else code)
            labels[code] = (f"sum of the {len(pfas)} forces in this file within {name} "
                            "(the file excludes City of London, BTP)")
    return labels


def _series_breaks(force_pfa: dict[str, str], members: dict[str, list[str]]) -> pd.DataFrame:
    """The registry's known breaks (data/indicator_breaks.csv: Greater Manchester under-counted
    before 2018/19, Thames Valley low from 2014/15) for the forces in this file, and for every
    sum that includes them (a break in a member is a break in the total)."""
    rows = []
    names = {pfa: force for force, pfa in force_pfa.items()}
    known = breaks_for(list(COUNT_COLUMNS))
    for b in known.itertuples(index=False):
        if b.area_code not in names:  # force not in this file
            continue
        rows.append({"indicator_id": b.indicator_id, "area_code": b.area_code, "break_date": b.break_date,
                     "description": b.note, "affects": b.affects})
        for code, pfas in members.items():
            if b.area_code in pfas:  # a total including the force: marked on charts, still compared
                rows.append({"indicator_id": b.indicator_id, "area_code": code, "break_date": b.break_date,
                             "description": f"Includes {names[b.area_code]}: {b.note}", "affects": None})
    out = pd.DataFrame(rows, columns=["indicator_id", "area_code", "break_date", "description", "affects"])
    out["break_date"] = pd.to_datetime(out["break_date"])
    return out


def indicators(source_id: str) -> pd.DataFrame:
    """The four offence groups: rows of the indicator registry (data/indicators.csv)."""
    return indicator_rows(list(COUNT_COLUMNS), source_id=source_id)


def parse_file(path: Path, geo: GeoContext, source_id: str = "ho_knife_pfa_quarterly",
               quality: str = "official") -> Staged:
    path = Path(path)
    df = _tidy_rows(path, geo, source_id)
    long = _long(df)
    members = _aggregate_members(df)
    labels = _aggregate_labels(members, df["pfa"].nunique(), geo)
    member_n = pd.Series({k: len(v) for k, v in members.items()})
    pops = PopulationLookup(geo)

    # Force quarters report a negative through their own (suppressed) count; every sum notes
    # the negative adjustments it includes.
    quarters = long.assign(negatives="")
    force_fy = _sum_complete(long, ["indicator_id", "area_code", "fy_start"], 4)
    membership = pd.DataFrame([(code, pfa) for code, pfas in members.items() for pfa in pfas],
                              columns=["area_code", "member"])
    joined = long.rename(columns={"area_code": "member"}).merge(membership, on="member")
    agg_q = _sum_complete(joined, ["indicator_id", "area_code", "fy_start", "quarter"], member_n)
    agg_fy = _sum_complete(joined, ["indicator_id", "area_code", "fy_start"], member_n * 4)

    keep = ["indicator_id", "area_code", "fy_start", "quarter", "count", "reason", "negatives"]
    parts = [quarters[keep],
             force_fy.assign(quarter=None, reason=None)[keep],
             agg_q.assign(reason=None)[keep],
             agg_fy.assign(quarter=None, reason=None)[keep]]
    allobs = pd.concat([p.astype({"quarter": "object"}) for p in parts], ignore_index=True)
    allobs = _periods(allobs)
    allobs = _with_rates(allobs, members, pops, labels)
    allobs["quality"] = quality
    allobs["source_id"] = source_id
    observations = finish_observations(allobs, source_id=source_id, file=path.name)

    negatives = long[long["count"] < 0].copy()
    negatives = _periods(negatives.astype({"quarter": "object"}))
    adjustments = negatives[["indicator_id", "area_code", "period_label", "count", "row"]]
    adjustments = adjustments.assign(file=path.name).reset_index(drop=True)

    first, last = df.sort_values("qtrnum").iloc[[0, -1]][["fy_start", "quarter"]].to_numpy()
    period = (f"{financial_quarter(int(first[0]), int(first[1])).label} to "
              f"{financial_quarter(int(last[0]), int(last[1])).label}")
    return Staged(
        source_id=source_id,
        observations=observations,
        indicators=indicators(source_id),
        tables={"series_breaks": _series_breaks(dict(zip(df["force"], df["pfa"])), members),
                "knife_negative_adjustments": adjustments},
        files=[{"name": path.name, "sha256": sha256_file(path),
                "rows": len(df), "period": period}],
        stats={"rows": len(df), "forces": int(df["pfa"].nunique()),
               "negative_adjustments": len(adjustments)},
    )


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Parser interface (etl/parsers/__init__.py): one file expected, several are concatenated."""
    if not paths:
        raise SourceError("no file found for this source", source_id=source.id)
    staged = [parse_file(p, geo, source.id, source.quality) for p in paths]
    if len(staged) == 1:
        return staged[0]
    first = staged[0]
    obs = pd.concat([s.observations for s in staged], ignore_index=True)
    return Staged(
        source_id=source.id,
        observations=finish_observations(obs, source_id=source.id,
                                         file=", ".join(p.name for p in paths)),
        indicators=first.indicators,
        tables={k: pd.concat([s.tables[k] for s in staged], ignore_index=True).drop_duplicates()
                for k in first.tables},
        files=[f for s in staged for f in s.files],
    )
