"""The recent-trend marker for every indicator: one verdict for one area, indicator and period
on the profile, Compare and the downloads; and the profile's trend chart drawing the
like-for-like benchmarks its verdicts use, labelled with what they sum."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
IND = "knife_offences_total"
FORCES = ("E23000029", "E23000001", "E23000025", "E23000005", "W15000001")


def _run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _raw(wh: Path, area: str) -> pd.DataFrame:
    con = duckdb.connect(str(wh), read_only=True)
    df = con.execute("""SELECT period_label, period_start, period_end, count, denominator FROM observations
                        WHERE indicator_id = ? AND area_code = ? AND period_type = 'financial_year'
                        AND source_id NOT LIKE '%#%' ORDER BY period_start""", [IND, area]).df()
    con.close()
    return df


def test_a_force_trend_worked_out_by_hand(wh):
    """Poisson score test for the slope over the last five financial years, written out here:
    U = sum x_i (O_i - E_i), E_i = n_i * sum O / sum n, Var = sum x_i^2 E_i - (sum x_i E_i)^2 / sum E."""
    from app.trends import recent_trend

    last = _raw(wh, "E23000001").tail(5)  # Metropolitan Police: no recording break
    o, n = last["count"].to_numpy(float), last["denominator"].to_numpy(float)
    x = np.arange(5.0)
    e = n * o.sum() / n.sum()
    u = (x * (o - e)).sum()
    var = (x**2 * e).sum() - (x * e).sum() ** 2 / e.sum()
    p = stats.chi2.sf(u**2 / var, 1)
    expected = "no significant change" if p >= 0.05 else ("increasing" if u > 0 else "decreasing")
    marker = recent_trend(IND, "E23000001", "financial_year")
    assert marker.direction == expected
    assert marker.result.p_value == pytest.approx(p, rel=1e-3)
    if expected != "no significant change":
        assert marker.rating == ("worse" if expected == "increasing" else "better")  # higher is worse


def test_one_verdict_per_area_indicator_and_period_on_profile_compare_and_csv(wh):
    from app import benchmarks as bm
    from app import profile as pr
    from app import queries as q
    from app import trends
    from app.disclosure_view import control, for_download

    period = q.map_periods(IND, "pfa")
    period = period[period["period_type"] == "financial_year"]["period_label"].iloc[0]
    everyone = control(q.observations([IND], period_label=period))
    everyone = everyone[everyone["area_type"] == "pfa"]
    compared = trends.with_trends(bm.national_comparisons(everyone, IND, "pfa", period, "financial_year"),
                                  IND, "financial_year", period)
    by_area = compared.set_index("area_code")
    assert len(by_area) >= 40 and by_area["trend"].notna().all()
    # every force: the Compare column is the shared function's verdict
    for code, r in by_area.iterrows():
        assert r["trend"] == trends.trend_fields(trends.recent_trend(IND, code, "financial_year", period))["trend"]
    seen = set()
    for code in FORCES:
        _, rows = pr.csp_profile(code)
        row = rows[rows["indicator_id"] == IND].iloc[0]
        assert row["period_label"] == period
        assert row["trend"] == by_area.loc[code, "trend"], code
        assert row["trend_detail"] == by_area.loc[code, "trend_detail"], code
        seen.add(row["trend"].split(" ", 1)[1])
    # Thames Valley: its recording break (2014/15) is no later than the first of the five years
    # tested, so the trend is tested on the years after it only
    if period == "2018/19":
        assert "from 2014/15 to 2018/19" in by_area.loc["E23000029", "trend_detail"]
    assert len(seen) >= 3, "the sample shows each kind of verdict"

    # the Compare page and its CSV show the same words
    at = _run("pages/3_Compare.py", indicator=IND, level="pfa", period=period, areas=",".join(FORCES))
    shown = [df for df in (el.value for el in at.dataframe) if "recent trend" in getattr(df, "columns", [])]
    assert shown
    table = getattr(shown[0], "data", shown[0])
    names = dict(zip(by_area.index, by_area["area_name"], strict=True))
    got = dict(zip(table["area_name"], table["recent trend"], strict=True))
    for code in FORCES:
        assert got[names[code]] == by_area.loc[code, "trend"]
    # the Compare CSV (as ui.download writes it)
    dl = for_download(compared.drop(columns=["trend_colour"])).set_index("area_code")
    assert (dl["trend"] == by_area["trend"]).all()


def test_profile_csv_and_table_carry_every_indicators_trend(wh):
    from app import profile as pr
    from app.disclosure_view import for_download

    geo, rows = pr.csp_profile("E22000308", "2024-03")  # Oxford: monthly, annual, regional figures
    shown = rows[rows["area_code"].notna()]
    assert shown["trend"].notna().all(), "every indicator with a figure has a trend marker (or says why not)"
    csv = for_download(rows[[c for c in rows.columns if not c.startswith("_") and not c.endswith("_colour")]])
    assert list(csv["trend"].fillna("")) == list(rows["trend"].fillna(""))  # the profile CSV, as the page makes it
    table = pr.profile_table(rows)
    assert {"trend", "trend_detail"} <= set(table.columns)


def test_profile_trend_chart_draws_the_like_for_like_benchmarks_with_their_basis(wh):
    """Oxford (Thames Valley), police.uk violence: the benchmark lines are the `benchmarks`
    table's like-for-like sums, not the force's published all-records figure."""
    con = duckdb.connect(str(wh), read_only=True)
    lfl = con.execute("""SELECT area_code, period_label, value, basis FROM benchmarks
                         WHERE indicator_id = 'police_uk_violence_and_sexual_offences' AND figure_level = 'csp'
                         AND area_code IN ('E23000029', 'K04000001')""").df()
    published = con.execute("""SELECT area_code, period_label, value FROM observations
                               WHERE indicator_id = 'police_uk_violence_and_sexual_offences'
                               AND area_code = 'E23000029'""").df()
    con.close()
    assert len(lfl)
    at = _run("pages/1_Area_profile.py", area="E22000308", indicator="police_uk_violence_and_sexual_offences")
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    trend = next(s for s in specs if "Violence" in json.dumps(s.get("layout", {}).get("title", "")) and
                 any("Thames Valley" in str(t.get("name")) for t in s["data"]))
    names = [str(t.get("name")) for t in trend["data"]]
    force = [n for n in names if n.startswith("Thames Valley")]
    assert force and lfl.loc[lfl["area_code"] == "E23000029", "basis"].iloc[0] in force[0]
    assert any(n.startswith("England and Wales") or n.startswith("England & Wales") for n in names), names
    # the drawn force values are the like-for-like ones
    line = next(t for t in trend["data"] if str(t.get("name")).startswith("Thames Valley"))
    ys = line["y"]
    if isinstance(ys, dict):  # plotly's binary array
        import base64
        ys = np.frombuffer(base64.b64decode(ys["bdata"]), dtype=np.dtype(ys["dtype"])).tolist()
    drawn = sorted(round(v, 6) for v in ys if v is not None and not np.isnan(v))
    mine = lfl[lfl["area_code"] == "E23000029"]
    assert drawn == sorted(round(v, 6) for v in mine["value"].dropna())
    assert drawn != sorted(round(v, 6) for v in published["value"].dropna())
