"""A partnership's own working estimates of children in or at risk of gangs -> `local` observations.

Why: the Children's Commissioner asked safeguarding boards for local 'working estimates' of
children in gangs, related to gang members and at high risk; a partnership that keeps such a
count can load it beside the national estimate and the modelled CSP figure. It is the
partnership's number, not an official statistic, so it is stored with quality `local` and the
supplier and date in the note.

Layout: `data/templates/gang_working_estimates.csv` (csp_code, period_label, measure, count,
age_band, notes, supplied_by, supplied_on). Each row is checked and a bad one is a SourceError
naming the file, line (header = line 1) and column: the CSP code must be a real CSP in the
geography; the period must parse with `parse_period`; the measure must be one of MEASURES; the
count a non-negative whole number or a published suppression marker (stored as missing with its
reason, never zero); supplied_on an ISO date. The template's example row (supplied_by EXAMPLE) is
rejected so it cannot be loaded by mistake. One indicator per measure and age band.

May import etl.* and pandas only.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from etl.codes import AREA_CODE_PATTERNS
from etl.csvtable import read_required_columns
from etl.errors import SourceError
from etl.periods import future_date, implausible_count, implausible_period, parse_period
from etl.registry import indicator_rows, slug
from etl.staged import Staged, finish_observations
from etl.suppression import MARKER_REASONS

COLUMNS = ["csp_code", "period_label", "measure", "count", "age_band", "notes", "supplied_by",
           "supplied_on"]
# The measures a partnership may supply; each is a template row of data/indicators.csv
# (`gangs_local_<measure>`, varying by age band) holding its title and definition.
MEASURES = ("gang_members", "siblings", "victims_knowing_member", "high_risk_total")
EXAMPLE_MARKER = "EXAMPLE"
_WHOLE = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+$")


def indicator_id(measure: str, age_band: str) -> str:
    return f"gangs_local_{measure}_{slug(age_band)}"


def _read(path: Path, source_id: str) -> pd.DataFrame:
    df = read_required_columns(path, source_id, COLUMNS).apply(lambda c: c.astype(str).str.strip())
    df["line"] = range(2, len(df) + 2)
    return df


def _row_to_observation(row: pd.Series, csps: set[str], where: dict) -> dict:
    def fail(msg: str, column: str) -> SourceError:
        return SourceError(msg, column=column, **where)

    if row["supplied_by"].upper() == EXAMPLE_MARKER or row["notes"].upper().startswith(
            "EXAMPLE ROW"):
        raise fail("this is the template's example row: delete it", "supplied_by")
    code = row["csp_code"]
    if not re.fullmatch(AREA_CODE_PATTERNS["csp"].strip("^$"), code):
        raise fail(f"{code!r} is not a CSP code (E22/W14 + 6 digits)", "csp_code")
    if code not in csps:
        raise fail(f"{code!r} is not a CSP in the geography lookups", "csp_code")
    try:
        period = parse_period(row["period_label"])
    except ValueError as exc:
        raise fail(str(exc), "period_label") from None
    if problem := implausible_period(period.start, period.end):
        raise fail(problem, "period_label")
    if row["measure"] not in MEASURES:
        raise fail(f"measure {row['measure']!r} is not one of {sorted(MEASURES)}", "measure")
    if not row["age_band"]:
        raise fail("age_band is empty (e.g. 10-17)", "age_band")
    if not row["supplied_by"]:
        raise fail("supplied_by is empty: say who supplied the estimate", "supplied_by")
    try:
        supplied_on = date.fromisoformat(row["supplied_on"])
    except ValueError:
        raise fail(f"supplied_on {row['supplied_on']!r} is not a date (YYYY-MM-DD)",
                   "supplied_on") from None
    if problem := future_date(supplied_on):
        raise fail(f"supplied_on: {problem}", "supplied_on")
    raw, count, reason = row["count"], None, None
    if raw.lower() in MARKER_REASONS:
        reason = MARKER_REASONS[raw.lower()]
    elif _WHOLE.match(raw):
        count = float(raw.replace(",", ""))
        if problem := implausible_count(count):
            raise fail(problem, "count")
    else:
        raise fail(f"count {raw!r} is not a non-negative whole number or a suppression marker",
                   "count")
    note = (f"Local working estimate supplied by {row['supplied_by']} on {supplied_on:%d %b %Y}; "
            "not an official statistic.")
    if row["notes"]:
        note += f" {row['notes']}"
    return {"indicator_id": indicator_id(row["measure"], row["age_band"]), "area_code": code,
            "period_start": pd.Timestamp(period.start), "period_end": pd.Timestamp(period.end),
            "period_label": period.label, "period_type": period.kind, "count": count,
            "value": count, "suppressed_reason": reason, "quality": "local", "note": note,
            "_measure": row["measure"], "_age_band": row["age_band"]}


def parse(paths: list[Path], source, geo) -> Staged:
    """Every supplied row -> one `local` observation; any bad row stops the load, located."""
    source_id = getattr(source, "id", "local_gang_working_estimates")
    csps = geo.codes("csp")
    obs, files = [], []
    for p in map(Path, paths):
        df = _read(p, source_id)
        for _, row in df.iterrows():
            where = {"source_id": source_id, "file": p.name, "row": int(row["line"])}
            obs.append(_row_to_observation(row, csps, where)
                       | {"_line": where["row"], "_file": p.name})
        files.append({"name": p.name, "rows": len(df)})
    if not obs:
        raise SourceError("no working-estimate file supplied", source_id=source_id)
    frame = pd.DataFrame(obs)
    dup = frame.duplicated(["indicator_id", "area_code", "period_start", "period_end"],
                           keep="first")
    if dup.any():
        first = frame[dup].iloc[0]
        raise SourceError("the same CSP, period, measure and age band is supplied twice",
                          source_id=source_id, file=first["_file"], row=int(first["_line"]),
                          column="measure")
    first = frame.drop_duplicates("indicator_id")
    indicators = indicator_rows(list(first["indicator_id"]), source_id=source_id,
                                fill={i: {"age_band": a} for i, a in zip(first["indicator_id"], first["_age_band"],
                                                                         strict=True)})
    frame["source_id"] = source_id
    observations = finish_observations(frame.drop(columns=["_measure", "_age_band", "_line",
                                                           "_file"]),
                                       source_id=source_id,
                                       file=", ".join(f["name"] for f in files))
    return Staged(source_id=source_id, observations=observations,
                  indicators=indicators, files=files)
