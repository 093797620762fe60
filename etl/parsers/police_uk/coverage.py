"""Coverage of police.uk force-months: present, partial (short against the force's own
neighbouring months), implausible (far above the force's other months, or beyond its
population) or missing."""
from __future__ import annotations

from collections.abc import Callable

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
# A run of short months is its own neighbourhood: with a fourth short Dyfed-Powys month (2024-04
# as short as 2024-03) every month of the run had only short neighbours, all four became
# 'present' and 0 weapons offences became a figure. So a month is also short when it falls under
# LONG_RATIO of the median per-day count of all the force's other unflagged months. Across the
# mirror no complete month is under 0.69 of that median (Cheshire 2024-01); the short ones are
# at 0.05-0.37 (Dyfed-Powys 2024) and 0.53 (Kent 2018-12).
LONG_RATIO = 0.5


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
                long_run = float(np.median([s[o] / _days(o) for o in others])) * _days(m)
                for exp, limit, whose in ((expected, SHORT_RATIO, "neighbouring months"),
                                          (long_run, LONG_RATIO, "other months")):
                    if exp < SHORT_MIN_EXPECTED:
                        continue
                    ratio = s[m] / exp
                    if ratio < limit and (worst is None or ratio < worst[0]):
                        why = (f"{name}: {s[m]:,.0f} against {exp:,.0f} expected from the force's "
                               f"{whose} ({ratio:.0%})")
                        worst = (ratio, m, why)
        if worst is None:
            return flagged
        flagged[worst[1]] = worst[2]


# A force-month is 'implausible' (held back like a short one) when one of its series is over
# HIGH_RATIO times the median of the force's other months (series with HIGH_MIN_EXPECTED+
# expected: by chance a Poisson count of 20 or more never reaches 5 times its mean), or when its
# records exceed MAX_RECORDS_PER_RESIDENT of the force area's residents (for a force with too few
# other months to compare with). Why: a file holding a repeated or wrong extract (a 3 GB archive
# member gave 19.65 M rows, 1,260x a normal month) must not become a figure. In the mirror (8
# months from 2018-10 to 2024-03) the highest territorial force-month is 2.3x the median of its
# other months (Gwent weapons, 2024-03), BTP's 4.1x (robbery, 2024-01, against 2018 months;
# BTP is not placed in areas); the most records per resident in a month is the City of
# London's 0.10 (few residents, many visitors). No real month is held back.
HIGH_RATIO = 5.0
HIGH_MIN_EXPECTED = 20
MAX_RECORDS_PER_RESIDENT = 0.25


def high_months(series: dict[str, dict[str, float]]) -> dict[str, str]:
    """Months judged implausibly high for one force: {month: reason}.

    A month's expected count is the median per-day count of all the force's other months in
    that series, times its days: the median of every other month, not of the nearest ones, so a
    run of short months (Dyfed-Powys 2024-02/03, a twentieth of normal) cannot make the month
    before it look high, and two high months side by side are both found."""
    flagged: dict[str, tuple[float, str]] = {}
    for name, s in series.items():
        for m, n in s.items():
            others = [o for o in s if o != m]
            if len(others) < 2:
                continue
            expected = float(np.median([s[o] / _days(o) for o in others])) * _days(m)
            if expected < HIGH_MIN_EXPECTED or n <= HIGH_RATIO * expected:
                continue
            ratio = n / expected
            if m not in flagged or ratio > flagged[m][0]:
                flagged[m] = (ratio, f"{name}: {n:,.0f} against {expected:,.0f} expected from the median of the "
                                     f"force's other months ({ratio:.1f}x): held back as implausibly high")
    return {m: why for m, (_, why) in sorted(flagged.items())}


def too_many_for_population(records: dict[str, float], residents: Callable[[str], float | None]) -> dict[str, str]:
    """Months whose records exceed MAX_RECORDS_PER_RESIDENT of the force area's residents
    (`residents(month)`; None when unknown: not judged)."""
    out = {}
    for m, n in records.items():
        persons = residents(m)
        if persons and n > MAX_RECORDS_PER_RESIDENT * persons:
            out[m] = (f"all records: {n:,.0f} for {persons:,.0f} residents ({n / persons:.2f} a resident in "
                      "one month): held back as implausibly high")
    return out


def coverage_grid(totals: pd.DataFrame, counts: pd.DataFrame, pfa_by_slug: dict[str, str | None],
                  months: list[str], residents: Callable[[str, str], float | None] | None = None) -> pd.DataFrame:
    """Force x month: present / partial / implausible / missing, with rows and the force's
    typical month.

    'partial' when `short_months` finds the file short against the force's own neighbouring
    months: e.g. Dyfed-Powys 2024, Kent's short late-2018 files (MANIFEST: police_uk coverage).
    'implausible' when `high_months` finds it far above the force's other months, or
    `too_many_for_population` beyond the force's size (`residents(pfa_code, month)`).
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
        if residents is not None and pfa:  # beyond the force's size: left out before judging the rest
            beyond = too_many_for_population(series["all records"], lambda m, pfa=pfa: residents(pfa, m))
        else:
            beyond = {}
        high = high_months({name: {m: v for m, v in s.items() if m not in beyond} for name, s in series.items()})
        high.update(beyond)
        # High months are left out when judging short ones: one beside them would look short.
        short = short_months({name: {m: v for m, v in s.items() if m not in high} for name, s in series.items()})
        for m in months:
            if m not in keys:
                rows.append((slug, pfa, m, "missing", None, typical, "no file for this force and month"))
                continue
            n = int(t.loc[keys[m], "rows"])
            status = "implausible" if m in high else "partial" if m in short else "present"
            rows.append((slug, pfa, m, status, n, typical, high.get(m) or short.get(m, "")))
    return pd.DataFrame(rows, columns=["force", "pfa_code", "month", "status", "rows", "typical_rows", "note"])
