"""Synthetic OHID Fingertips exports (the 27-column CSV, UTF-8 with BOM).

Why: the Fingertips API is not reachable from every machine the refresh runs on; these files
let the parser, warehouse and pages work end to end. Every file has a `.synthetic.json`
sidecar, the one marker the parser turns into quality = 'synthetic'. Layout otherwise exactly
as published: each LAD is listed twice (under its region, and again with no parent), regions
under England, England with no parent.

Assumptions:

* Violence admissions, indicator 11201, Persons, All ages, 3-year pooled financial years
  (`2016/17 - 18/19` ... `2020/21 - 22/23`): about 40 per 100,000 per year in England with a
  fixed log-normal area factor (sd 0.35) and a small downward trend. Values are crude rates of
  a Poisson count over three years of population (not truly age standardised) with Byar
  intervals; counts below 10 are suppressed with the publisher's Value note.
* Drug treatment, financial years 2018/19 - 2022/23, age 18+: adults in treatment about 250
  (opiate) and 90 (non-opiate) per 100,000 residents; successful completion about 5% (opiate,
  id 90244) and 30% (non-opiate, id 90245) with Wilson intervals. Which of 90244/90245 is which
  is unconfirmed (formats.md); the parser keys on the name. "Adults in drug treatment" uses the
  placeholder id 99001: the real Fingertips id is unknown.
* England LADs only (Fingertips covers England); regions and England are sums of their LADs.
  Population from `geo.population_for`, 100,000 when missing. Seeds from (indicator, area).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from etl.codes import ENGLAND
from etl.geocontext import GeoContext
from etl.parsers.fingertips import EXPORT_COLUMNS, PARENT_COLUMN_POSITION
from etl.synthetic.seeds import rng_for
from etl.synthetic.sidecar import write_sidecar

PARENT_COLUMN_NAME = "Compared to Region value or percentiles"
SUPPRESSED_NOTE = "Value suppressed for disclosure control due to small count"
LAD_TYPE = "Districts & UAs (from Apr 2023)"
DEFAULT_POPULATION = 100_000.0
Z95, Z998 = 1.959964, 3.090232

VIOLENCE_ID, VIOLENCE_NAME = 11201, "Hospital admissions for violence (including sexual violence)"
DRUG_INDICATORS = (
    (90244, "Successful completion of drug treatment - opiate users", 250.0, 0.05),
    (90245, "Successful completion of drug treatment - non-opiate users", 90.0, 0.30),
)
IN_TREATMENT_ID, IN_TREATMENT_NAME = 99001, "Adults in drug treatment"


def _byar(count: float, z: float) -> tuple[float, float]:
    """Byar's approximation to the Poisson interval for a count."""
    low = 0.0 if count <= 0 else count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    high = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return low, high


def _wilson(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


class _Areas:
    """England LADs grouped by region, with names, from the GeoContext."""

    def __init__(self, geo: GeoContext) -> None:
        self.geo = geo
        self.lads = sorted(c for c in geo.codes("lad") if c.startswith("E"))
        self.region_of = {lad: (geo.parents(lad, "region") or [None])[0] for lad in self.lads}
        self.regions = sorted({r for r in self.region_of.values() if r})

    def name(self, code: str) -> str:
        return "England" if code == ENGLAND else (self.geo.name_of(code) or code)

    def population(self, code: str, year: int) -> float:
        persons, _ = self.geo.population_for(code, year)
        return persons or DEFAULT_POPULATION


def _fmt(x: float | None, decimals: int = 4) -> str:
    """Fixed-point text as the export writes numbers (never scientific notation)."""
    if x is None:
        return ""
    return f"{x:.{decimals}f}".rstrip("0").rstrip(".")


def _row(ind_id: int, ind_name: str, parent: str | None, areas: _Areas, code: str,
         area_type: str, age: str, period: str, sortable: int, period_range: str,
         stats: dict) -> list[str]:
    """One export row; `stats` holds value, ci95, ci998, count, denominator, note, compared."""
    row = dict.fromkeys(EXPORT_COLUMNS, "")
    suppressed = stats.get("suppressed", False)
    row.update({
        "Indicator ID": str(ind_id), "Indicator Name": ind_name,
        "Parent Code": parent or "", "Parent Name": areas.name(parent) if parent else "",
        "Area Code": code, "Area Name": areas.name(code), "Area Type": area_type,
        "Sex": "Persons", "Age": age, "Time period": period,
        "Value": "" if suppressed else _fmt(stats["value"]),
        "Count": "" if suppressed else _fmt(stats["count"]),
        "Denominator": "" if suppressed or stats.get("denominator") is None
        else _fmt(stats["denominator"]),
        "Value note": SUPPRESSED_NOTE if suppressed else "",
        "Recent Trend": "Cannot be calculated",
        "Compared to England value or percentiles": "Not compared" if suppressed
        else stats.get("vs_england", "Not compared"),
        "Time period Sortable": f"{sortable}0000", "Time period range": period_range,
    })
    for key, (low, high) in (("95.0", stats.get("ci95")), ("99.8", stats.get("ci998"))) \
            if stats.get("ci95") else ():
        row[f"Lower CI {key} limit"] = "" if suppressed else _fmt(low)
        row[f"Upper CI {key} limit"] = "" if suppressed else _fmt(high)
    values = [row[c] for c in EXPORT_COLUMNS]
    values[PARENT_COLUMN_POSITION] = "" if suppressed or not parent or parent == ENGLAND \
        else stats.get("vs_parent", "Not compared")
    return values


def _compare(stats: dict, benchmark: float | None) -> str:
    if benchmark is None or not stats.get("ci95"):
        return "Not compared"
    low, high = stats["ci95"]
    return "Higher" if low > benchmark else "Lower" if high < benchmark else "Similar"


def _write(path: Path, rows: list[list[str]], name: str, description: str) -> Path:
    header = list(EXPORT_COLUMNS)
    header[PARENT_COLUMN_POSITION] = PARENT_COLUMN_NAME
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    write_sidecar(path, generator="etl.synthetic.fingertips", name=name, description=description)
    return path


def _emit(rows: list, ind_id: int, ind_name: str, areas: _Areas, age: str, period: str,
          sortable: int, period_range: str, stats: dict[str, dict]) -> None:
    """England, then regions, then every LAD twice (under its region, then with no parent)."""
    england = stats.get(ENGLAND, {}).get("value")
    common = (areas, age, period, sortable, period_range)
    rows.append(_row(ind_id, ind_name, None, common[0], ENGLAND, "England", *common[1:],
                     stats[ENGLAND]))
    for region in areas.regions:
        s = {**stats[region], "vs_england": _compare(stats[region], england)}
        rows.append(_row(ind_id, ind_name, ENGLAND, areas, region, "Region", *common[1:], s))
    for lad in areas.lads:
        region = areas.region_of[lad]
        s = {**stats[lad], "vs_england": _compare(stats[lad], england),
             "vs_parent": _compare(stats[lad], stats.get(region, {}).get("value"))}
        if region:
            rows.append(_row(ind_id, ind_name, region, areas, lad, LAD_TYPE, *common[1:], s))
        rows.append(_row(ind_id, ind_name, None, areas, lad, LAD_TYPE, *common[1:], s))


def _rate_stats(count: float, person_years: float) -> dict:
    scale = 100_000 / person_years
    return {"value": count * scale, "count": count, "denominator": person_years,
            "ci95": tuple(v * scale for v in _byar(count, Z95)),
            "ci998": tuple(v * scale for v in _byar(count, Z998)), "suppressed": count < 10}


def generate_violence(geo: GeoContext, out_dir: Path) -> list[Path]:
    """`violence_admissions_synthetic.csv`: indicator 11201 for LADs, regions and England."""
    areas = _Areas(geo)
    rows: list[list[str]] = []
    for start in range(2016, 2021):
        label = f"{start}/{str(start + 1)[-2:]} - {str(start + 2)[-2:]}/{str(start + 3)[-2:]}"
        counts, person_years = {}, {}
        for lad in areas.lads:
            factor = np.exp(rng_for("fingertips-11201-area", lad).normal(0, 0.35) - 0.06)
            rate = 40.0 * factor * (1 - 0.02 * (start - 2018))
            py = sum(areas.population(lad, y) for y in range(start, start + 3))
            counts[lad] = float(rng_for("fingertips-11201", lad, start).poisson(rate * py / 1e5))
            person_years[lad] = py
        stats = {lad: _rate_stats(counts[lad], person_years[lad]) for lad in areas.lads}
        for group, members in [(r, [lad for lad in areas.lads if areas.region_of[lad] == r])
                               for r in areas.regions] + [(ENGLAND, areas.lads)]:
            stats[group] = _rate_stats(sum(counts[m] for m in members),
                                       sum(person_years[m] for m in members) or 1.0)
        _emit(rows, VIOLENCE_ID, VIOLENCE_NAME, areas, "All ages", label, start, "3y", stats)
    path = out_dir / "violence_admissions_synthetic.csv"
    return [_write(path, rows, "fingertips_violence",
                   "Synthetic Fingertips export of indicator 11201 (hospital admissions for "
                   "violence), generated by etl/synthetic/fingertips.py. Not published data.")]


def generate_drug_treatment(geo: GeoContext, out_dir: Path) -> list[Path]:
    """`drug_treatment_synthetic.csv`: completion (opiate, non-opiate) and adults in treatment."""
    areas = _Areas(geo)
    rows: list[list[str]] = []
    for start in range(2018, 2023):
        label = f"{start}/{str(start + 1)[-2:]}"
        in_treatment: dict[str, float] = dict.fromkeys(areas.lads, 0.0)
        for ind_id, name, per_100k, success in DRUG_INDICATORS:
            completed, treated = {}, {}
            for lad in areas.lads:
                rng = rng_for("fingertips", ind_id, lad, start)
                area = rng_for("fingertips-area", ind_id, lad)
                n = float(rng.poisson(per_100k * np.exp(area.normal(0, 0.3))
                                      * areas.population(lad, start) / 1e5))
                p = min(0.95, success * float(np.exp(area.normal(0, 0.25))))
                treated[lad], completed[lad] = n, float(rng.binomial(int(n), p))
                in_treatment[lad] += n
            groups = [(r, [lad for lad in areas.lads if areas.region_of[lad] == r])
                      for r in areas.regions] + [(ENGLAND, areas.lads)]
            for group, members in groups:
                treated[group] = sum(treated[m] for m in members)
                completed[group] = sum(completed[m] for m in members)
            stats = {code: _proportion_stats(completed[code], treated[code]) for code in treated}
            _emit(rows, ind_id, name, areas, "18+ yrs", label, start, "1y", stats)
        totals = dict(in_treatment)
        for group, members in [(r, [lad for lad in areas.lads if areas.region_of[lad] == r])
                               for r in areas.regions] + [(ENGLAND, areas.lads)]:
            totals[group] = sum(in_treatment[m] for m in members)
        stats = {code: {"value": n, "count": n, "denominator": None} for code, n in totals.items()}
        _emit(rows, IN_TREATMENT_ID, IN_TREATMENT_NAME, areas, "18+ yrs", label, start, "1y",
              stats)
    path = out_dir / "drug_treatment_synthetic.csv"
    return [_write(path, rows, "fingertips_drug_treatment",
                   "Synthetic Fingertips export of drug treatment completion (90244, 90245) "
                   "and adults in treatment (placeholder id 99001), generated by "
                   "etl/synthetic/fingertips.py. Not published data.")]


def _proportion_stats(completed: float, treated: float) -> dict:
    if treated <= 0:
        return {"value": None, "count": completed, "denominator": treated, "suppressed": True}
    return {"value": 100 * completed / treated, "count": completed, "denominator": treated,
            "ci95": tuple(100 * v for v in _wilson(completed, treated, Z95)),
            "ci998": tuple(100 * v for v in _wilson(completed, treated, Z998)),
            "suppressed": completed < 5}
