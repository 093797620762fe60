"""Tests for the redistributed Home Office knife-crime parser (`ho_knife_pfa_quarterly`).

Values are checked against numbers computed here, independently, from the raw CSV with the
`csv` module. Real-file tests skip cleanly when the mirror is absent. They run against a
GeoContext built here from the real ONS LAD-CSP-PFA lookup plus a hand-made region table and
population; when the lead's `real_geo` fixture exists they also run against it.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers import knife_pfa_quarterly as kpq
from tests.small_geo import make_geo

MIRROR = Path("/work/shared/data")
REAL = MIRROR / "knife_crime" / "knifecrime_pfa_quarterly.csv"
LOOKUP = MIRROR / "geography" / "LAD17_CSP17_PFA17_EW_LU_ONS.csv"
needs_real = pytest.mark.skipif(not (REAL.exists() and LOOKUP.exists()),
                                reason="source mirror not present")

REGIONS = {
    "E12000001": ("North East", ["Cleveland", "Durham", "Northumbria"]),
    "E12000002": ("North West", ["Cheshire", "Cumbria", "Greater Manchester", "Lancashire",
                                 "Merseyside"]),
    "E12000003": ("Yorkshire and The Humber", ["Humberside", "North Yorkshire",
                                               "South Yorkshire", "West Yorkshire"]),
    "E12000004": ("East Midlands", ["Derbyshire", "Leicestershire", "Lincolnshire",
                                    "Northamptonshire", "Nottinghamshire"]),
    "E12000005": ("West Midlands", ["Staffordshire", "Warwickshire", "West Mercia",
                                    "West Midlands"]),
    "E12000006": ("East of England", ["Bedfordshire", "Cambridgeshire", "Essex", "Hertfordshire",
                                      "Norfolk", "Suffolk"]),
    "E12000007": ("London", ["Metropolitan Police", "London, City of"]),
    "E12000008": ("South East", ["Hampshire", "Kent", "Surrey", "Sussex", "Thames Valley"]),
    "E12000009": ("South West", ["Avon and Somerset", "Devon & Cornwall", "Dorset",
                                 "Gloucestershire", "Wiltshire"]),
}
POP_2018 = 1_000_000.0
THAMES_VALLEY_POP = {2018: 2_400_000.0, 2016: 2_350_000.0}


def lookup_geo() -> GeoContext:
    """PFAs from the real 2017 ONS lookup, regions by hand (the lookup has none), and a made-up
    population: 1,000,000 per force for mid-2018 only (Thames Valley: 2018 and 2016)."""
    lu = pd.read_csv(LOOKUP, encoding="utf-8-sig", dtype=str)
    pfas = lu.drop_duplicates("PFA17CD")[["PFA17CD", "PFA17NM"]]
    areas = [(c, n, "pfa") for c, n in zip(pfas["PFA17CD"], pfas["PFA17NM"])]
    areas += [(c, n, "region") for c, (n, _) in REGIONS.items()]
    areas += [("E92000001", "England", "country"), ("W92000004", "Wales", "country"),
              ("K04000001", "England and Wales", "national")]
    by_name = dict(zip(pfas["PFA17NM"], pfas["PFA17CD"]))
    links = [(by_name[f], r, "pfa", "region") for r, (_, fs) in REGIONS.items() for f in fs]
    tv = by_name["Thames Valley"]
    pop = [(c, 2018, "all", POP_2018) for c in pfas["PFA17CD"] if c != tv]
    pop += [(tv, y, "all", v) for y, v in THAMES_VALLEY_POP.items()]
    return make_geo(areas, links, pop)


def raw_rows() -> list[dict]:
    with REAL.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def staged():
    if not (REAL.exists() and LOOKUP.exists()):
        pytest.skip("source mirror not present")
    return kpq.parse_file(REAL, lookup_geo())


def obs(staged, indicator: str, area: str, label: str) -> pd.Series:
    o = staged.observations
    hit = o[(o.indicator_id == indicator) & (o.area_code == area) & (o.period_label == label)]
    assert len(hit) == 1, (indicator, area, label, len(hit))
    return hit.iloc[0]


@needs_real
def test_thames_valley_year_and_quarter_match_raw_csv(staged):
    rows = [r for r in raw_rows() if r["Force Name"] == "Thames Valley"
            and r["Financial Year"] == "2018/19"]
    assert len(rows) == 4
    total = sum(int(r["Knife Crime"]) for r in rows)
    year = obs(staged, "knife_offences_total", "E23000029", "2018/19")
    assert year["count"] == total
    assert year["period_type"] == "financial_year"
    assert year["period_start"] == pd.Timestamp("2018-04-01")
    assert year["period_end"] == pd.Timestamp("2019-03-31")
    assert year["denominator"] == THAMES_VALLEY_POP[2018]
    assert math.isclose(year["value"], total / THAMES_VALLEY_POP[2018] * 100_000)
    assert "mid-2018" in year["note"]

    q3 = next(r for r in rows if r["Financial Quarter"] == "Q3")
    quarter = obs(staged, "knife_violence_with_injury", "E23000029", "2018/19 Q3")
    assert quarter["count"] == int(q3["Violence with Injury"])
    assert quarter["period_start"] == pd.Timestamp("2018-10-01")
    assert quarter["period_end"] == pd.Timestamp("2018-12-31")


@needs_real
def test_rates_ignore_file_population_and_say_nearest_year(staged):
    # 2016/17 has a Thames Valley mid-2016 figure; 2012/13 has only 2016 and 2018 -> nearest 2016
    raw = next(r for r in raw_rows() if r["Force Name"] == "Thames Valley"
               and r["Financial Year"] == "2012/13" and r["Financial Quarter"] == "Q1")
    q = obs(staged, "knife_offences_total", "E23000029", "2012/13 Q1")
    assert q["denominator"] == THAMES_VALLEY_POP[2016]
    assert math.isclose(q["value"], int(raw["Knife Crime"]) / THAMES_VALLEY_POP[2016] * 1e5)
    assert q["denominator"] != float(raw["Population"]) * 1000
    assert "nearest available" in q["note"] and "mid-2012 absent" in q["note"]


@needs_real
def test_england_and_wales_sum_is_labelled(staged):
    rows = [r for r in raw_rows() if r["Financial Year"] == "2017/18"]
    total = sum(int(r["Knife Crime"]) for r in rows)
    ew = obs(staged, "knife_offences_total", "K04000001", "2017/18")
    assert ew["count"] == total
    assert kpq.ALL_FORCES_NOTE in ew["note"]
    ew19 = obs(staged, "knife_offences_total", "K04000001", "2018/19")
    assert ew19["denominator"] == 41 * POP_2018 + THAMES_VALLEY_POP[2018]
    london = obs(staged, "knife_offences_total", "E12000007", "2017/18 Q2")
    met = next(r for r in rows if r["Force Name"] == "Metropolitan Police"
               and r["Financial Quarter"] == "Q2")
    assert london["count"] == int(met["Knife Crime"])
    assert "1 forces in this file within London" in london["note"]
    wales = obs(staged, "knife_homicide_attempted_murder", "W92000004", "2017/18")
    assert wales["count"] == sum(int(r["Homicide and serious injury"]) for r in rows
                                 if r["Region"] == "Wales")


@needs_real
def test_negative_adjustment_is_kept_in_sums_not_shown(staged):
    raw = [r for r in raw_rows() if r["Force Name"] == "North Yorkshire"
           and r["Financial Year"] == "2010/11"]
    q3 = next(r for r in raw if r["Financial Quarter"] == "Q3")
    assert q3["Homicide and serious injury"] == "-1"
    quarter = obs(staged, "knife_homicide_attempted_murder", "E23000009", "2010/11 Q3")
    assert pd.isna(quarter["count"]) and pd.isna(quarter["value"])
    assert "negative" in quarter["suppressed_reason"]
    year = obs(staged, "knife_homicide_attempted_murder", "E23000009", "2010/11")
    assert year["count"] == sum(int(r["Homicide and serious injury"]) for r in raw)
    assert "negative adjustment" in year["note"]
    adj = staged.tables["knife_negative_adjustments"]
    assert ((adj.area_code == "E23000009") & (adj.period_label == "2010/11 Q3")).any()


@needs_real
def test_every_force_quarter_and_year_present(staged):
    o = staged.observations
    pfa = o[o.area_code.str.match(r"^(E23|W15)")]
    assert pfa.area_code.nunique() == 42
    assert set(o.indicator_id) == set(kpq.COUNT_COLUMNS)
    per = pfa[pfa.indicator_id == "knife_offences_total"].groupby("period_type").size()
    assert per["quarter"] == 42 * 44 and per["financial_year"] == 42 * 11
    assert "E23000034" not in set(o.area_code)  # City of London is not in the file


@needs_real
def test_series_breaks_recorded_as_data(staged):
    b = staged.tables["series_breaks"]
    assert list(b.columns) == ["indicator_id", "area_code", "break_date", "description", "affects"]
    gmp = b[(b.area_code == "E23000005") & (b.indicator_id == "knife_offences_total")]
    assert gmp.break_date.tolist() == [pd.Timestamp("2018-04-01")]
    assert gmp.affects.tolist() == ["before"]  # MANIFEST: under-counted before 2018/19
    tv = b[(b.area_code == "E23000029") & (b.indicator_id == "knife_robbery_sexual")]
    assert tv.break_date.tolist() == [pd.Timestamp("2014-04-01")]
    assert tv.affects.tolist() == ["from"]  # MANIFEST: low from 2014/15
    ew = b[(b.area_code == "K04000001") & (b.break_date == pd.Timestamp("2014-04-01"))]
    assert len(ew) and ew.affects.isna().all()  # a total including the force: charts only


@needs_real
def test_indicator_titles_and_polarity(staged):
    ind = staged.indicators.set_index("indicator_id")
    assert set(ind.index) == set(kpq.COUNT_COLUMNS)
    assert (ind.polarity == "higher_is_worse").all() and (ind.geography_level == "pfa").all()
    assert "robbery" in ind.loc["knife_robbery_sexual", "title"].lower()
    assert staged.files[0]["rows"] == 1848


@needs_real
def test_real_geo_fixture_if_available(request):
    try:
        geo = request.getfixturevalue("real_geo")
    except pytest.FixtureLookupError:
        pytest.skip("real_geo fixture not available yet")
    staged = kpq.parse_file(REAL, geo)
    rows = [r for r in raw_rows() if r["Force Name"] == "Thames Valley"
            and r["Financial Year"] == "2018/19"]
    tv = geo.pfa_code("Thames Valley")
    year = obs(staged, "knife_offences_total", tv, "2018/19")
    assert year["count"] == sum(int(r["Knife Crime"]) for r in rows)
    pop, used = geo.population_for(tv, 2018)
    if pop is not None:
        assert year["denominator"] == pop
        assert math.isclose(year["value"], year["count"] / pop * 100_000)
        assert f"mid-{used}" in year["note"]


# --- bad inputs, on small files made here ------------------------------------------------------

HEADER = ("QtrNum,Force Name,Region,Financial Year,Financial Quarter,Population,Knife enabled,"
          "Violence with Injury,Homicide and serious injury,Knife Crime,RateKE,RateVWI,RateKC,"
          "ZScoreKE,ZScoreVWI,ZScoreKC")


def small_geo() -> GeoContext:
    return make_geo([("E23000029", "Thames Valley", "pfa"), ("W15000002", "Gwent", "pfa"),
                     ("E12000008", "South East", "region")], [("E23000029", "E12000008", "pfa", "region")],
                    [(c, 2018, "all", 2_000_000.0) for c in ("E23000029", "W15000002")])


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    p = tmp_path / "knife.csv"
    p.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return p


def good_lines() -> list[str]:
    out = []
    for q in range(1, 5):
        n = 40 + q
        out.append(f"{n},Thames Valley,South East,2018/19,Q{q},1,10,20,{q},{30 + q},0,0,0,0,0,0")
        out.append(f"{n},Gwent,Wales,2018/19,Q{q},1,1,2,0,3,0,0,0,0,0,0")
    return out


def test_small_file_parses(tmp_path):
    s = kpq.parse_file(write(tmp_path, good_lines()), small_geo())
    o = s.observations
    tv = o[(o.area_code == "E23000029") & (o.indicator_id == "knife_offences_total")
           & (o.period_label == "2018/19")].iloc[0]
    assert tv["count"] == 31 + 32 + 33 + 34
    ew = o[(o.area_code == "K04000001") & (o.period_label == "2018/19 Q1")
           & (o.indicator_id == "knife_offences_total")].iloc[0]
    assert ew["count"] == 31 + 3 and ew["denominator"] == 4_000_000.0
    assert "sum of the 2 forces" in ew["note"]


def test_year_needs_all_four_quarters(tmp_path):
    lines = [ln for ln in good_lines() if not ln.startswith("44,Gwent")]
    o = kpq.parse_file(write(tmp_path, lines), small_geo()).observations
    assert not ((o.area_code == "W15000002") & (o.period_type == "financial_year")).any()
    assert not ((o.area_code == "K04000001") & (o.period_label == "2018/19")).any()
    assert ((o.area_code == "K04000001") & (o.period_label == "2018/19 Q3")).any()


def test_renamed_column_names_file_and_column(tmp_path):
    p = write(tmp_path, good_lines(), HEADER.replace("Knife Crime", "Knife crime total"))
    with pytest.raises(SourceError) as e:
        kpq.parse_file(p, small_geo())
    assert e.value.column == "Knife Crime" and e.value.file == "knife.csv" and e.value.row == 1


def test_marker_becomes_missing_with_reason(tmp_path):
    lines = good_lines()
    lines[0] = lines[0].replace(",10,20,1,31,", ",[x],20,1,31,")
    o = kpq.parse_file(write(tmp_path, lines), small_geo()).observations
    q = o[(o.area_code == "E23000029") & (o.indicator_id == "knife_robbery_sexual")
          & (o.period_label == "2018/19 Q1")].iloc[0]
    assert pd.isna(q["count"]) and q["suppressed_reason"] == "not available [x]"
    assert not ((o.area_code == "E23000029") & (o.indicator_id == "knife_robbery_sexual")
                & (o.period_label == "2018/19")).any()


def test_region_inconsistent_with_geography(tmp_path):
    lines = [ln.replace("Thames Valley,South East", "Thames Valley,Wales") for ln in good_lines()]
    with pytest.raises(SourceError) as e:
        kpq.parse_file(write(tmp_path, lines), small_geo())
    assert e.value.column == "Region" and "South East" in str(e.value)


def test_empty_file_is_missing_header(tmp_path):
    p = tmp_path / "knife.csv"
    p.write_text("", encoding="utf-8")
    with pytest.raises(SourceError) as e:
        kpq.parse_file(p, small_geo())
    assert e.value.row == 1 and "header" in str(e.value)


@pytest.mark.parametrize("line, old, new, at, words", [
    (3, "Gwent", "Gwynedd", (5, "Force Name"), ("Gwynedd", "knife.csv")),
    (0, ",10,20,", ",ten,20,", (2, "Knife enabled"), ("ten",)),
    # Thames Valley Q3: 10 + 20 + 3 = 33, not 34
    (4, ",10,20,3,33,", ",10,20,3,34,", (6, "Knife Crime"), ("34",)),
    (0, ",Q1,", ",Q5,", (2, "Financial Quarter"), ("Q5",)),
    # Thames Valley Q2 is QtrNum 42
    (2, "42,Thames Valley,", "99,Thames Valley,", (4, "QtrNum"), ("99",)),
], ids=["unknown_force", "non_numeric_count", "sum_mismatch", "bad_quarter", "bad_qtrnum"])
def test_bad_cell_names_file_row_and_column(tmp_path, line, old, new, at, words):
    """One cell spoiled in an otherwise good file: the error names the file, the CSV row
    (header is row 1, so line i is row i + 2) and the column, and quotes the value."""
    lines = good_lines()
    assert old in lines[line]
    lines[line] = lines[line].replace(old, new)
    with pytest.raises(SourceError) as e:
        kpq.parse_file(write(tmp_path, lines), small_geo())
    assert (e.value.row, e.value.column) == at
    assert e.value.file == "knife.csv"
    for w in words:
        assert w in str(e.value)
