"""DfE children in need census: factors identified at the end of assessment (file c3).

Why this source: no council publishes how many of its children are in gangs. The nearest real,
official, local measure is the number of social-care assessments at whose end the social worker
recorded "Gangs" (and, from 2021-22, "Child criminal exploitation") as a factor. These are
assessment *episodes* recorded by social workers, not gang members and not children (a child
assessed twice counts twice; one assessment records several factors), and recording practice
differs between councils. Every indicator's title and definition says so.

Read: the factors for gangs, child criminal exploitation, going missing, child sexual
exploitation, trafficking and the child's own drug misuse, per upper-tier local authority,
region and England, each reporting year (year ending 31 March -> financial year period).

Two indicators per factor:
- `dfe_cin_<factor>`: the count of assessment episodes (every year, every area). DfE symbols
  (`c`, `x`, `z`, `u`, `low`, `k`) stay missing with their reason, never zero.
- `dfe_cin_<factor>_rate`: per 10,000 children aged 0-17, only for reporting years whose
  mid-year (30 June inside the year: mid-2020 for 2020-21) has an ONS 0-17 population in the
  population table; other years are counts only, and both the count rows and the rate
  indicator's definition say why. Intervals: Byar / exact Poisson (methods.rates).

Layout checks (etl/ees.py): header, renamed column, year, level, area codes, cells. A new
reporting year appended to the file is simply a new period. England rows must never be
suppressed (DfE does not suppress national figures): a symbol there is reported as an error,
except `x` for a factor not yet collected.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.codes import ENGLAND
from etl.ees import MARKERS, parse_cell, read_ees_csv
from etl.errors import SourceError
from etl.periods import financial_year
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations
from methods.rates import crude_rate_frame

PER = 10_000
AGE_BAND = "0-17"
CCE_FIRST_YEAR = 2022  # first reporting year (2021-22) with the CCE factor


@dataclass(frozen=True)
class Factor:
    column: str
    slug: str
    words: str  # "gangs", "child criminal exploitation", ...


FACTORS = (
    Factor("Gangs", "gangs", "gangs"),
    Factor("Child_criminal_exploitation", "child_criminal_exploitation", "child criminal exploitation"),
    Factor("Going_missing", "going_missing", "going missing"),
    Factor("Child_sexual_exploitation", "child_sexual_exploitation", "child sexual exploitation"),
    Factor("Trafficking", "trafficking", "trafficking"),
    Factor("Drug_Misuse_child", "drug_misuse_child", "the child's own drug misuse"),
)


def count_id(f: Factor) -> str:
    return f"dfe_cin_{f.slug}"


def rate_id(f: Factor) -> str:
    return f"dfe_cin_{f.slug}_rate"


def _reason(marker_reason: str, f: Factor, year: int) -> str:
    if f.column == "Child_criminal_exploitation" and year < CCE_FIRST_YEAR and marker_reason == MARKERS["x"]:
        return ("not available (x): child criminal exploitation was first recorded as an assessment "
                "factor in 2021-22")
    return marker_reason


def indicators(rate_years: list[int], source_id: str = "dfe_cin_factors") -> pd.DataFrame:
    """A count and a rate per factor: rows of the indicator registry (data/indicators.csv); each
    rate's definition gains the reporting years this file gives rates for."""
    held = ", ".join(f"{financial_year(y - 1).label}" for y in rate_years) or "none"
    return indicator_rows([i for f in FACTORS for i in (count_id(f), rate_id(f))], source_id=source_id,
                          append={rate_id(f): f"Reporting years with a rate here: {held}." for f in FACTORS})


def parse(paths: list[Path], source, geo) -> Staged:
    source_id = getattr(source, "id", "dfe_cin_factors")
    if len(paths) != 1:
        raise SourceError(f"expected one factors file, found {len(paths)}", source_id=source_id)
    path = Path(paths[0])
    table = read_ees_csv(path, source_id, [f.column for f in FACTORS], upper_tier=geo.upper_tier_codes(),
                         region_codes=geo.codes("region"))
    df = table.rows
    dup = df.duplicated(["year", "level", "area_code"])
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise SourceError(f"second row for {df['area_code'].iloc[i]} in {df['year'].iloc[i]}",
                          source_id=source_id, file=path.name, row=int(df["_row"].iloc[i]), column="time_period")
    kept = df[~df["_skip"]]
    pop_years = set(geo.population_years(AGE_BAND))
    recs = []
    for r in kept.to_dict("records"):
        year = int(r["year"])
        period = financial_year(year - 1)
        mid_year = year - 1
        pop = geo.population_exact(r["area_code"], mid_year, AGE_BAND) if mid_year in pop_years else None
        for f in FACTORS:
            value, reason = parse_cell(r[f.column], source_id=source_id, file=path.name, row=int(r["_row"]),
                                       column=f.column)
            if reason is not None:
                if r["area_code"] == ENGLAND and not (reason == MARKERS["x"]):
                    raise SourceError(f"England figure withheld ({r[f.column]!r}): DfE does not suppress "
                                      "national figures, so the layout or the file has changed",
                                      source_id=source_id, file=path.name, row=int(r["_row"]), column=f.column)
                reason = _reason(reason, f, year)
            if mid_year not in pop_years:
                why_no_rate = (f"no rate: the population table has no ONS mid-{mid_year} estimate of children "
                               f"aged 0-17 (held: {', '.join(f'mid-{y}' for y in sorted(pop_years)) or 'none'})")
            elif pop is None:
                why_no_rate = (f"no rate: no ONS mid-{mid_year} population aged 0-17 for this authority on "
                               "2021 geography")
            else:
                why_no_rate = None
            rounded = "rounded by DfE to the nearest 10" if r["level"] != "utla" else ""
            common = {"area_code": r["area_code"], "period_start": pd.Timestamp(period.start),
                      "period_end": pd.Timestamp(period.end), "period_label": period.label,
                      "period_type": period.kind, "quality": "official", "source_id": source_id}
            note = "; ".join(x for x in (f"reporting year ending 31 March {year}", rounded,
                                         why_no_rate if reason is None else None) if x)
            recs.append({**common, "indicator_id": count_id(f), "count": value, "value": value,
                         "suppressed_reason": reason, "note": note})
            if mid_year in pop_years:
                recs.append({**common, "indicator_id": rate_id(f), "count": value, "denominator": pop,
                             "suppressed_reason": reason if reason is not None else why_no_rate,
                             "note": "; ".join(x for x in (f"reporting year ending 31 March {year}", rounded,
                                                           f"ONS mid-{mid_year} population aged 0-17") if x)})
    obs = pd.DataFrame(recs)
    rates = obs["indicator_id"].str.endswith("_rate")
    if rates.any():
        computed = crude_rate_frame(obs.loc[rates], per=PER)
        for col in ("value", "lower_ci", "upper_ci"):
            obs.loc[rates, col] = computed[col]
    for col in ("value", "lower_ci", "upper_ci", "count", "denominator"):
        if col in obs:
            obs[col] = pd.to_numeric(obs[col], errors="coerce").astype(float)
    rate_years = sorted(y + 1 for y in pop_years if (y + 1) in set(kept["year"]))
    periods = sorted(set(kept["year"]))
    return Staged(
        source_id=source_id,
        observations=finish_observations(obs, source_id=source_id, file=path.name),
        indicators=indicators(rate_years, source_id),
        files=[{"name": path.name, "rows": len(df),
                "period": f"{financial_year(periods[0] - 1).label} to {financial_year(periods[-1] - 1).label}"}],
        stats={"rows": len(df), "inner_outer_london_rows_left_out": int(df["_skip"].sum()),
               "suppressed_cells": int(obs.loc[~rates, "suppressed_reason"].notna().sum()),
               "rate_years": rate_years},
    )

