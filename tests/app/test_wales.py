"""Welsh partnerships: an absent figure gives its true reason (the publication's own coverage),
never another source's reason; checked on the warehouse built from the mirror."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb


def england_only_indicators(wh: Path) -> set[str]:
    """Indicators with English area codes and no Welsh one, worked out here with plain SQL."""
    with duckdb.connect(str(wh), read_only=True) as con:
        rows = con.execute("""SELECT indicator_id FROM observations GROUP BY 1
                              HAVING bool_or(area_code LIKE 'E%') AND NOT bool_or(area_code LIKE 'W%')""").fetchall()
    return {r[0] for r in rows}


def test_welsh_csp_absent_figures_give_their_own_reason(wh):
    from app import profile as pr
    from app import queries as q

    cardiff = q.area_search("Cardiff", ("csp",))
    assert not cardiff.empty
    geo, rows = pr.csp_profile(cardiff.iloc[0]["area_code"])
    assert geo["country"] == q.WALES
    absent = rows[rows["geo_label"] == "not available"]
    england_only = england_only_indicators(wh)
    assert set(absent["indicator_id"]) & england_only, "the mirror has England-only indicators to test with"
    for r in absent.itertuples():
        if r.indicator_id in england_only:
            assert re.search(r"covers England only|English [a-z ]+ only", r.suppressed_reason), r.suppressed_reason
        if r.family != "gangs":
            assert "Children's Commissioner" not in str(r.suppressed_reason), (r.indicator_id, r.suppressed_reason)
