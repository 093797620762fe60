"""Coverage of police.uk force-months: present, partial (short against the force's own
neighbouring months) or missing."""
from __future__ import annotations

import numpy as np
import pandas as pd

from etl.parsers.police_uk.read import CRIME_TYPES

# A force-month is 'partial' when one of its large series (all records, or one of the four crime
# types, with SHORT_MIN_EXPECTED+ records expected) falls under SHORT_RATIO of what the force's own
# neighbouring months give. Why these numbers: with 500+ records expected, chance (Poisson) moves a
# month by under 5%, and across the mirror's 39 forces x 8 months no complete file fell below 80%
# of its neighbours, while the short files are far below: Kent 2018-12 (violence 36%), Kent
# 2018-11 (violence 73%), Dyfed-Powys 2024 (4-36%). Small series (robbery, weapons) move by a
# third from month to month on their own, so they are not used to judge a file.
SHORT_RATIO = 0.75
SHORT_MIN_EXPECTED = 500
NEIGHBOUR_WINDOW = 12  # months either side that count as neighbouring
NEIGHBOURS = 4  # nearest unflagged months used (at least 2)


def _month_index(m: str) -> int:
    return int(m[:4]) * 12 + int(m[5:7]) - 1


def _days(m: str) -> int:
    return pd.Period(m, freq="M").days_in_month


def short_months(series: dict[str, dict[str, float]]) -> dict[str, str]:
    """Months judged short for one force: {month: reason}.

    `series`: {series name: {month: count}} (e.g. 'all records' and each crime type). A month's
    expected count is the median per-day count of its nearest NEIGHBOURS months not already
    judged short (within NEIGHBOUR_WINDOW months, else the nearest at any distance), times its
    days. The worst month below SHORT_RATIO is flagged, then the rest are judged again without
    it, so one short month never makes its neighbour look complete (Kent 2018-11 beside 2018-12)
    and a run of short months (Dyfed-Powys 2024) is found from the months before it.
    """
    months = sorted({m for s in series.values() for m in s})
    flagged: dict[str, str] = {}
    while True:
        worst: tuple[float, str, str] | None = None
        for m in months:
            if m in flagged:
                continue
            for name, s in series.items():
                if m not in s:
                    continue
                others = sorted((o for o in s if o != m and o not in flagged),
                                key=lambda o: (abs(_month_index(o) - _month_index(m)), o))
                near = [o for o in others if abs(_month_index(o) - _month_index(m)) <= NEIGHBOUR_WINDOW]
                nb = near[:NEIGHBOURS] if len(near) >= 2 else others[:NEIGHBOURS]
                if len(nb) < 2:
                    continue
                expected = float(np.median([s[o] / _days(o) for o in nb])) * _days(m)
                if expected < SHORT_MIN_EXPECTED:
                    continue
                ratio = s[m] / expected
                if ratio < SHORT_RATIO and (worst is None or ratio < worst[0]):
                    why = (f"{name}: {s[m]:,.0f} against {expected:,.0f} expected from the force's "
                           f"neighbouring months ({ratio:.0%})")
                    worst = (ratio, m, why)
        if worst is None:
            return flagged
        flagged[worst[1]] = worst[2]


def coverage_grid(totals: pd.DataFrame, counts: pd.DataFrame, pfa_by_slug: dict[str, str | None],
                  months: list[str]) -> pd.DataFrame:
    """Force x month: present / partial / missing, with rows and the force's typical month.

    'partial' when `short_months` finds the file short against the force's own neighbouring
    months: e.g. Dyfed-Powys 2024, Kent's short late-2018 files (MANIFEST: police_uk coverage).
    """
    rows = []
    t = totals.set_index("file_key")
    by_type = counts.groupby(["file_key", "crime_type"])["n"].sum()
    for slug, pfa in sorted(pfa_by_slug.items()):
        keys = {m: f"{m}/{slug}" for m in months if f"{m}/{slug}" in t.index}
        present = [t.loc[k, "rows"] for k in keys.values()]
        typical = float(np.median(present)) if len(present) >= 3 else None
        series = {"all records": {m: float(t.loc[k, "rows"]) for m, k in keys.items()}}
        for ct in CRIME_TYPES:
            series[ct] = {m: float(by_type.get((k, ct), 0)) for m, k in keys.items()}
        short = short_months(series)
        for m in months:
            if m not in keys:
                rows.append((slug, pfa, m, "missing", None, typical, "no file for this force and month"))
                continue
            n = int(t.loc[keys[m], "rows"])
            rows.append((slug, pfa, m, "partial" if m in short else "present", n, typical, short.get(m, "")))
    return pd.DataFrame(rows, columns=["force", "pfa_code", "month", "status", "rows", "typical_rows", "note"])
