"""Disclosure across pages on the real warehouse: a count suppressed on one page cannot be
recovered from figures on another, by the area hierarchy (parent minus the other children) or
from the A&E page's year (the year's total minus the other months).

The attacks are linear programmes independent of the code under test: every published figure
fixed, every hidden one free and >= 0, and the least and greatest value each hidden figure can
take. The sums an attacker uses are built here from the warehouse's area_links with SQL.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.disclosure_attack import attack_bounds, attack_sums

SMALL = (1, 7)


def _level_sums(db: Path, present: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """parent = all present areas of one level inside it (any chain of links, any vintage),
    where the raw counts agree to within a small count (a level that covers its parent)."""
    con = duckdb.connect(str(db), read_only=True)
    anc = con.sql("""
        WITH RECURSIVE up(child, anc) AS (
            SELECT child_code, parent_code FROM area_links
            UNION SELECT up.child, l.parent_code FROM up JOIN area_links l ON l.child_code = up.anc)
        SELECT DISTINCT child, anc FROM up""").df()
    con.close()
    types = dict(zip(present["area_code"], present["area_type"], strict=True))
    truth = dict(zip(present["area_code"], present["raw"], strict=True))
    anc = anc[anc["child"].isin(types) & anc["anc"].isin(types)]
    sums = []
    for (parent, level), grp in anc.assign(level=anc["child"].map(types)).groupby(["anc", "level"]):
        if level == types[parent]:
            continue
        kids = list(grp["child"])
        vals = [truth[k] for k in kids]
        if not np.isnan(truth[parent]) and not np.isnan(vals).any() and abs(truth[parent] - sum(vals)) <= SMALL[1]:
            sums.append((parent, kids))
    return sums


def test_no_suppressed_count_is_a_parent_minus_its_children(wh):
    """Every published combination of one health indicator and period (every area, every
    level, as Compare, the map, profiles and downloads show them) leaves each suppressed count
    undetermined; Fingertips figures by district, region and England."""
    from app import queries as q
    from app.disclosure_view import control

    checked = 0
    for ind in ("fingertips_99001_persons_18plus", "fingertips_90244_persons_18plus", "fingertips_90245_persons_18plus"):
        raw = q.observations([ind])
        for period, part in raw.groupby("period_label"):
            part = part.drop_duplicates("area_code").reset_index(drop=True)
            shown = control(part)
            present = part.assign(raw=pd.to_numeric(part["count"], errors="coerce"))
            sums = _level_sums(wh, present)
            truth = pd.Series(present["raw"].to_numpy(), index=part["area_code"])
            published = pd.Series(shown["count"].to_numpy(dtype=float), index=part["area_code"])
            small = truth.index[truth.between(*SMALL)]
            bounds = attack_sums(published, sums, truth=truth.fillna(0), gap_from_truth=True)
            for code in small:
                lo, hi = bounds.get(code, (0, np.inf))
                assert hi - lo > 0.5, f"{ind} {period} {code}: {lo} to {hi}"
                checked += 1
            # what is still shown is the true figure
            ok = published.notna()
            assert (published[ok] == truth[ok]).all()
    assert checked > 50


def test_a_hierarchy_suppression_is_the_same_on_every_page(wh):
    from app import linked_disclosure as ld
    from app import profile as pr
    from app import queries as q
    from app.disclosure_view import control, for_download
    from methods.disclosure import REASON_HIERARCHY

    ind = "fingertips_90245_persons_18plus"
    hidden = ld._hierarchy_hidden(ind, q.warehouse_version())
    latest = q.observations([ind])["period_label"].max()
    hits = [(pt, p, c) for pt, p, c in hidden if p == latest]
    assert hits, "a district hidden to protect another in the latest year"
    _, period, code = hits[0]
    # Compare (every area of the indicator and period)
    everyone = control(q.observations([ind], period_label=period)).set_index("area_code")
    assert np.isnan(everyone.loc[code, "count"]) and np.isnan(everyone.loc[code, "value"])
    assert everyone.loc[code, "suppressed_reason"] == REASON_HIERARCHY
    # the district's own profile and its CSV
    _, rows = pr.csp_profile(code)
    mine = rows[rows["indicator_id"] == ind].iloc[0]
    assert np.isnan(mine["count"]) and mine["suppressed_reason"] == REASON_HIERARCHY
    # a download of the raw rows
    dl = for_download(q.observations([ind], [code], period_label=period))
    assert dl["count"].isna().all()


def _istv_months(db: Path, code: str, ind: str) -> pd.Series:
    con = duckdb.connect(str(db), read_only=True)
    df = con.execute("SELECT period_label, count FROM observations WHERE indicator_id = ? AND area_code = ? "
                     "ORDER BY 1", [ind, code]).df()
    con.close()
    return pd.Series(df["count"].to_numpy(), index=df["period_label"])


@pytest.mark.parametrize("code", ["E22000308", "E22000001"])
def test_profile_istv_months_are_the_ae_pages_and_survive_the_years_totals(wh, code):
    """The profile shows each ISTV month (all attendances and knife/sharp ones); the A&E page
    shows the year's total and the year's knife/sharp total. Together they give no suppressed
    month away, and the profile hides exactly the months the A&E page hides."""
    from app import linked_disclosure as ld
    from app import queries as q
    from app.disclosure_view import control

    if code not in set(q.istv_csps()["area_code"]):
        pytest.skip(f"no ISTV extract for {code}")
    for ind, weapon in (("istv_assault_attendances", "all"), ("istv_knife_sharp_attendances", "knife_sharp")):
        truth = _istv_months(wh, code, ind)
        profile = control(q.indicator_series(ind, [code], "month")).set_index("period_label")["count"]
        for period, (first, last) in ld.istv_periods(code).items():
            page = ld.istv_page(code, period)
            months = page["months" if weapon == "all" else "knife_months"].set_index("month")["count"]
            mine = profile[(profile.index >= first) & (profile.index <= last)]
            assert list(mine.index) == list(months.index)
            assert mine.isna().equals(months.isna()), (ind, period)
            total = page["weapons"].set_index("category").loc[weapon, "count"]
            if np.isnan(total):
                continue
            hidden = list(mine.index[mine.isna()])
            if not hidden:
                continue
            coef = {m: 1.0 for m in hidden}
            bounds = attack_bounds(hidden, [(coef, total - mine.dropna().sum())])
            for m in hidden:
                if SMALL[0] <= truth[m] <= SMALL[1]:
                    lo, hi = bounds[m]
                    assert hi - lo > 0.5, (ind, period, m, lo, hi)
