"""DfE outcomes for children looked after: convictions or youth cautions (ages 10-17) and
substance misuse, per upper-tier local authority, region and England (context indicators).

Why: looked-after children are over-represented among children drawn into gangs and
exploitation; the share convicted or cautioned and the share with a substance misuse problem are
the council-level figures DfE publishes on that. They are context, not a measure of gangs, and
say so. The file (`la_conviction_health_outcome_cla.csv`) is long: one row per area, year,
`characteristic` and `breakdown`, with `children_count` and DfE's rounded `children_percent`.

Each indicator pairs a numerator breakdown with its total breakdown of the same
characteristic; the value is our percentage from the two counts with a Wilson interval
(methods.rates), and DfE's own rounded percentage is kept in the note. A DfE symbol in either
count leaves the value missing with its reason, never zero. The cohort is DfE's outcomes cohort
of children looked after at 31 March (see the release for who is included).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.ees import parse_cell, read_ees_csv
from etl.errors import SourceError
from etl.periods import financial_year
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations
from methods.rates import proportion_frame


@dataclass(frozen=True)
class Outcome:
    """Where one outcome is in the file; its title and definition are in data/indicators.csv."""

    indicator_id: str
    characteristic: str
    numerator: str
    total: str


OUTCOMES = (
    Outcome("dfe_cla_convicted_10_17", "Convictions: Children looked after Ages 10 to 17 years",
            "Convicted or subject to youth cautions, or youth conditional cautions during the year",
            "Total ages 10 to 17 years"),
    Outcome("dfe_cla_substance_misuse", "Substance misuse: Children looked after all ages",
            "Identified as having a substance misuse problem", "Total all ages"),
)
EXTRA = ("characteristic", "breakdown", "children_count", "children_percent")


def indicators(source_id: str = "dfe_cla_outcomes") -> pd.DataFrame:
    """Rows of the indicator registry (data/indicators.csv). Their unit is "percent of children
    looked after", not "%": a rate for the profile, but kept off the Compare page, which has no
    upper-tier level yet (it would compare unitary councils only, without the counties)."""
    return indicator_rows([o.indicator_id for o in OUTCOMES], source_id=source_id)


def parse(paths: list[Path], source, geo) -> Staged:
    source_id = getattr(source, "id", "dfe_cla_outcomes")
    if len(paths) != 1:
        raise SourceError(f"expected one outcomes file, found {len(paths)}", source_id=source_id)
    path = Path(paths[0])
    table = read_ees_csv(path, source_id, [], upper_tier=geo.upper_tier_codes(),
                         region_codes=geo.codes("region"), extra_columns=EXTRA)
    df = table.rows
    wanted = {(o.characteristic, b) for o in OUTCOMES for b in (o.numerator, o.total)}
    df = df[[(c, b) in wanted for c, b in zip(df["characteristic"], df["breakdown"])]]
    for o in OUTCOMES:
        if not ((df["characteristic"] == o.characteristic) & (df["breakdown"] == o.numerator)).any():
            raise SourceError(f"no rows for {o.characteristic!r} / {o.numerator!r} (renamed?)",
                              source_id=source_id, file=path.name, column="breakdown")
    dup = df.duplicated(["year", "level", "area_code", "characteristic", "breakdown"])
    if dup.any():
        r = df[dup].iloc[0]
        raise SourceError(f"second row for {r['area_code']} {r['year']} {r['breakdown']!r}",
                          source_id=source_id, file=path.name, row=int(r["_row"]), column="breakdown")
    df = df[~df["_skip"]]
    cells = {}
    for r in df.to_dict("records"):
        cells[(r["year"], r["area_code"], r["characteristic"], r["breakdown"])] = (
            parse_cell(r["children_count"], source_id=source_id, file=path.name, row=r["_row"],
                       column="children_count"), r["children_percent"], r["level"], r["_row"])
    recs = []
    for o in OUTCOMES:
        keys = {(y, a) for (y, a, c, b) in cells if c == o.characteristic and b == o.numerator}
        for year, area in sorted(keys):
            (num, num_reason), pct, level, row = cells[(year, area, o.characteristic, o.numerator)]
            total = cells.get((year, area, o.characteristic, o.total))
            if total is None:
                raise SourceError(f"no '{o.total}' row for {area} {year} to divide by", source_id=source_id,
                                  file=path.name, row=row, column="breakdown")
            den, den_reason = total[0]
            period = financial_year(year - 1)
            notes = [f"year ending 31 March {year}", f"DfE's percentage: {pct}"]
            if level != "utla":
                notes.append("counts rounded by DfE to the nearest 10")
            recs.append({"indicator_id": o.indicator_id, "area_code": area,
                         "period_start": pd.Timestamp(period.start), "period_end": pd.Timestamp(period.end),
                         "period_label": period.label, "period_type": period.kind, "count": num,
                         "denominator": den, "suppressed_reason": num_reason or (
                             f"total: {den_reason}" if den_reason else None),
                         "quality": "official", "source_id": source_id, "note": "; ".join(notes)})
    obs = pd.DataFrame(recs)
    rated = proportion_frame(obs)
    for col in ("value", "lower_ci", "upper_ci"):
        obs[col] = rated[col].astype(float)
    bad = obs["suppressed_reason"].isna() & obs["value"].isna()
    obs.loc[bad, "suppressed_reason"] = "no percentage: " + rated.loc[bad, "rate_note"].astype(str)
    for col in ("count", "denominator"):
        obs[col] = pd.to_numeric(obs[col], errors="coerce").astype(float)
    years = sorted(set(df["year"]))
    return Staged(source_id=source_id,
                  observations=finish_observations(obs, source_id=source_id, file=path.name),
                  indicators=indicators(source_id),
                  files=[{"name": path.name, "rows": len(table.rows),
                          "period": f"{financial_year(years[0] - 1).label} to {financial_year(years[-1] - 1).label}"}],
                  stats={"rows": len(table.rows), "rows_used": len(df)})
