"""ONS deaths related to drug poisoning by local authority: the parser on small files made here
(layout drift, bad input) and on the real file (publisher's totals, CSP sums, 3-year rates), the
refresh (a new year is a new period; a bad file leaves the live warehouse as it was), and the
profile of an English and a Welsh CSP.

Expected values are worked out here from the raw text of the files, never by re-running the
parser's own steps.
"""
from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from scipy import stats

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import source_by_id
from etl.parsers import drug_deaths as dd
from tests.small_geo import make_geo

REAL_REL = "drug_deaths/drug_poisoning_registrations_by_LA.csv"
ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- a small geography, by hand
LADS = {  # code: (name in the lookup, name as the file writes it)
    "E06000022": ("Bath and North East Somerset", "Bath and North East Somerset"),
    "E06000023": ("Bristol, City of", "Bristol, City of "),  # trailing space, as in the real file
    "E06000024": ("North Somerset", "North Somerset"),
    "E06000058": ("Bournemouth, Christchurch and Poole", "Bournemouth, Christchurch and Poole"),
    "W06000001": ("Isle of Anglesey", "Isle of Anglesey / Ynys Môn"),  # needs Windows-1252
}
CSPS = {"E22000001": ["E06000022", "E06000023"], "E22000002": ["E06000024"],
        "E22000063": ["E06000058"], "E22000067": ["E06000058"], "W14000001": ["W06000001"]}
PFA_OF = {"E22000001": "E23000036", "E22000002": "E23000036", "E22000063": "E23000039",
          "E22000067": "E23000039", "W14000001": "W15000001"}
YEARS = [2020, 2019, 2018, 2017, 2016]  # newest first, as published
COUNTS = {  # per year, newest first
    "E06000022": [12, 9, 4, 6, 5],
    "E06000023": [60, 55, 48, 50, 41],
    "E06000024": [3, 2, 1, 2, 0],
    "E06000058": [30, 28, 25, 22, 20],
    "W06000001": [12, 6, 7, 5, 9],
}
NON_RESIDENTS = [2, 0, 1, 3, 0]
POP_YEARS = range(2017, 2022)  # no mid-2016: the 2016-2018 period gets a count but no rate
POP = {"E06000022": 190_000, "E06000023": 460_000, "E06000024": 210_000, "E06000058": 395_000,
       "W06000001": 70_000}


def small_geo() -> GeoContext:
    areas = [("K04000001", "England and Wales", "national"), ("E92000001", "England", "country"),
             ("W92000004", "Wales", "country"), ("E12000009", "South West", "region"),
             ("E23000036", "Avon and Somerset", "pfa"), ("E23000039", "Dorset", "pfa"),
             ("W15000001", "North Wales", "pfa")]
    areas += [(c, n, "lad") for c, (n, _) in LADS.items()]
    areas += [(c, f"CSP {c}", "csp") for c in CSPS]
    links = [(lad, csp, "lad", "csp") for csp, lads in CSPS.items() for lad in lads]
    links += [(csp, pfa, "csp", "pfa") for csp, pfa in PFA_OF.items()]
    links += [("E23000036", "E12000009", "pfa", "region"), ("E23000039", "E12000009", "pfa", "region")]
    pops = dict(POP)
    pops["E22000001"] = POP["E06000022"] + POP["E06000023"]
    pops["E22000002"] = POP["E06000024"]
    pops["W14000001"] = POP["W06000001"]
    england = sum(v for k, v in POP.items() if k.startswith("E"))
    pops.update({"E92000001": england, "W92000004": POP["W06000001"], "E12000009": england,
                 "K04000001": england + POP["W06000001"]})
    return make_geo(areas, links, [(c, y, "all", float(p + 1000 * (y - 2017))) for c, p in pops.items()
                                   for y in POP_YEARS])


def pop_of(code: str, year: int) -> float:
    geo = small_geo()
    p = geo.population
    return float(p.loc[(p["area_code"] == code) & (p["year"] == year), "persons"].iloc[0])


def file_rows(years: list[int] = YEARS, counts: dict | None = None) -> list[list[str]]:
    counts = counts or COUNTS
    n = len(years)
    eng = [sum(v[i] for k, v in counts.items() if k.startswith("E")) for i in range(n)]
    wal = [counts["W06000001"][i] for i in range(n)]
    ew = [eng[i] + wal[i] + NON_RESIDENTS[i % len(NON_RESIDENTS)] for i in range(n)]
    rows = [["code", "name", *map(str, years)],
            ["K04000001", "ENGLAND AND WALES", *map(str, ew)],
            ["E92000001", "ENGLAND", *map(str, eng)],
            ["E12000009", "SOUTH WEST ", *map(str, eng)],
            ["E10000027", "Somerset ", *map(str, [7] * n)]]
    rows += [[c, LADS[c][1], *map(str, counts[c])] for c in LADS if c.startswith("E")]
    rows += [["W92000004", "WALES", *map(str, wal)], ["W06000001", LADS["W06000001"][1], *map(str, wal)]]
    return rows


def write(path: Path, rows: list[list[str]], encoding: str = "cp1252", before: str = "") -> Path:
    """Write rows as the publisher's CSV (CRLF line ends, quoting only where needed)."""
    with open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(before)
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return path


def parse(path: Path, geo: GeoContext | None = None):
    return dd.parse([path], source_by_id(dd.SOURCE_ID), geo or small_geo())


def obs(staged, indicator: str, area: str, label: str) -> pd.Series:
    o = staged.observations
    hit = o[(o["indicator_id"] == indicator) & (o["area_code"] == area) & (o["period_label"] == label)]
    assert len(hit) == 1, (indicator, area, label, len(hit))
    return hit.iloc[0]


def byar(o: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """Byar's approximation, written out from its published definition."""
    lo = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    up = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return lo, up


# ---------------------------------------------------------------- small files: what is produced
def test_small_file_counts_csps_and_rates(tmp_path):
    st = parse(write(tmp_path / "drug.csv", file_rows()))
    # Annual counts as published; the CSP of two authorities is their sum.
    assert obs(st, dd.COUNT_ID, "E06000023", "2020")["count"] == 60
    assert obs(st, dd.COUNT_ID, "E22000001", "2019")["value"] == 9 + 55
    assert obs(st, dd.COUNT_ID, "W14000001", "2020")["count"] == 12
    ew = obs(st, dd.COUNT_ID, "K04000001", "2020")
    assert ew["count"] == 12 + 60 + 3 + 30 + 12 + 2 and "2 deaths of people not resident" in ew["note"]
    # 3-year rate: deaths 2018-2020 / sum of the three mid-year populations.
    r = obs(st, dd.RATE_ID, "E22000001", "2018-2020")
    deaths = 12 + 9 + 4 + 60 + 55 + 48
    pop = sum(pop_of("E22000001", y) for y in (2018, 2019, 2020))
    assert (r["count"], r["denominator"]) == (deaths, pop)
    assert r["value"] == pytest.approx(deaths / pop * 1e5)
    lo, up = byar(deaths)
    assert (r["lower_ci"], r["upper_ci"]) == (pytest.approx(lo / pop * 1e5), pytest.approx(up / pop * 1e5))
    assert r["period_type"] == "pooled_calendar_years" and str(r["period_start"].date()) == "2018-01-01"
    # E&W rate counts residents only (England + Wales), like the local figures it benchmarks.
    e = obs(st, dd.RATE_ID, "K04000001", "2018-2020")
    residents = sum(sum(v[:3]) for v in COUNTS.values())
    assert e["count"] == residents and "non-residents" in e["note"]
    # Fewer than 10 deaths: count kept, no rate, reason given.
    small = obs(st, dd.RATE_ID, "E22000002", "2018-2020")
    assert small["count"] == 6 and pd.isna(small["value"]) and "fewer than 10 deaths" in small["suppressed_reason"]
    # A period without every year's population: count kept, no rate, the missing year named.
    early = obs(st, dd.RATE_ID, "E22000001", "2016-2018")
    assert early["count"] == 4 + 6 + 5 + 48 + 50 + 41 and pd.isna(early["value"])
    assert "mid-2016" in early["suppressed_reason"] and pd.isna(early["denominator"])
    # Split authority: its CSPs are not summed (listed why); the county row is listed, not loaded.
    assert not st.observations["area_code"].isin(["E22000063", "E22000067", "E10000027"]).any()
    skipped = st.tables["drug_deaths_not_loaded"].set_index("area_code")["reason"]
    assert "split across several CSPs (E06000058)" in skipped["E22000063"]
    assert skipped["E10000027"].startswith("county")
    assert set(st.observations["quality"]) == {"official"}
    assert set(st.indicators["family"]) == {"drug_treatment"}
    assert set(st.indicators["polarity"]) == {"higher_is_worse"}


def test_new_year_column_is_picked_up_as_a_new_period(tmp_path):
    counts = {k: [v[0] + 1, *v] for k, v in COUNTS.items()}
    st = parse(write(tmp_path / "drug.csv", file_rows([2021, *YEARS], counts)))
    assert obs(st, dd.COUNT_ID, "E06000022", "2021")["count"] == 13
    r = obs(st, dd.RATE_ID, "W14000001", "2019-2021")
    assert r["count"] == 13 + 12 + 6
    assert r["value"] == pytest.approx(31 / sum(pop_of("W14000001", y) for y in (2019, 2020, 2021)) * 1e5)


def test_utf8_resave_reads_the_same(tmp_path):
    a = parse(write(tmp_path / "a.csv", file_rows()))
    b = parse(write(tmp_path / "b.csv", file_rows(), encoding="utf-8-sig"))
    pd.testing.assert_frame_equal(a.observations, b.observations)


# ---------------------------------------------------------------- small files: bad input
def expect_error(path: Path, row: int | None, column: str | None, words: str) -> SourceError:
    with pytest.raises(SourceError) as err:
        parse(path)
    e = err.value
    assert e.file == path.name and e.source_id == dd.SOURCE_ID
    assert (e.row, e.column) == (row, column), str(e)
    assert words in str(e), str(e)
    assert path.name in str(e) and (row is None or f"row {row}" in str(e))
    return e


def test_renamed_column(tmp_path):
    rows = file_rows()
    rows[0][1] = "area_name"
    expect_error(write(tmp_path / "renamed.csv", rows), 1, "area_name", "should be 'name'")
    rows = file_rows()
    rows[0][3] = "Y2019"
    expect_error(write(tmp_path / "renamed_year.csv", rows), 1, "Y2019", "not a registration year")


def test_missing_year_column(tmp_path):
    rows = [[c for i, c in enumerate(r) if i != 3] for r in file_rows()]  # 2019 dropped
    expect_error(write(tmp_path / "gap.csv", rows), 1, None, "2019 missing")


@pytest.mark.parametrize("marker", [":", "x", "[c]", ""])
def test_suppressed_marker_in_a_new_place(tmp_path, marker):
    rows = file_rows()
    rows[5][3] = marker  # Bath and North East Somerset, 2019
    words = "empty cell" if not marker else f"suppression marker {marker!r}"
    expect_error(write(tmp_path / "marker.csv", rows), 6, "2019", words)


def test_changed_header_row(tmp_path):
    title = "Deaths related to drug poisoning by local authority, England and Wales\r\n\r\n"
    expect_error(write(tmp_path / "title.csv", file_rows(), before=title), 1, "Deaths related to drug "
                 "poisoning by local authority", "row 1 is not the expected header")
    rows = file_rows()
    rows[0][:2] = ["Area code", "Area name"]
    expect_error(write(tmp_path / "header.csv", rows), 1, "Area code", "should be 'code'")


def test_wrong_encoding(tmp_path):
    expect_error(write(tmp_path / "utf16.csv", file_rows(), encoding="utf-16"), 1, None, "UTF-16")
    raw = write(tmp_path / "bad.csv", file_rows()).read_bytes().replace("Môn".encode("cp1252"), b"M\x81n")
    (tmp_path / "bad.csv").write_bytes(raw)
    expect_error(tmp_path / "bad.csv", 11, "name", "neither Windows-1252")
    rows = file_rows()
    rows[10][1] = "Isle of Anglesey / Ynys Môn".encode().decode("cp1252")  # double-encoded
    expect_error(write(tmp_path / "mojibake.csv", rows, encoding="utf-8"), 11, "name", "double-encoded")


def test_wrong_area_code(tmp_path):
    rows = file_rows()
    rows[5][0] = "E0600002X"
    expect_error(write(tmp_path / "malformed.csv", rows), 6, "code", "not an area code")
    rows = file_rows()
    rows[5][0] = "E07000004"  # Aylesbury Vale: a retired district code
    expect_error(write(tmp_path / "retired.csv", rows), 6, "code", "not a current (2021-boundary)")
    rows = file_rows()
    rows[5][0] = "E06000024"  # North Somerset's code on Bath's row
    expect_error(write(tmp_path / "swapped.csv", rows), 6, "code", "named 'Bath and North East Somerset'")


def test_missing_row_and_duplicate_row(tmp_path):
    rows = file_rows()
    del rows[7]  # North Somerset
    e = expect_error(write(tmp_path / "short.csv", rows), 3, "2017", "add up to")
    assert "E92000001" in str(e)
    rows = file_rows()
    rows.insert(6, list(rows[5]))
    expect_error(write(tmp_path / "dup.csv", rows), 7, "code", "appears twice")
    rows = file_rows()
    rows[6] = rows[6][:4]
    expect_error(write(tmp_path / "cut.csv", rows), 7, "2019", "truncated")


# ---------------------------------------------------------------- the real file
@pytest.fixture(scope="module")
def real(mirror, real_geo):
    return dd.parse([mirror / REAL_REL], source_by_id(dd.SOURCE_ID), real_geo)


@pytest.fixture(scope="module")
def raw(mirror) -> pd.DataFrame:
    """The real file read here with the csv module: {code: {year: count}} plus names."""
    with open(mirror / REAL_REL, encoding="cp1252", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    return pd.DataFrame([{"code": r[0], **{int(h): int(v) for h, v in zip(header[2:], r[2:], strict=True)}}
                         for r in rows[1:]]).set_index("code")


def test_reconciles_to_the_publishers_england_and_wales_totals(real, raw):
    # The bulletin's figures, checked against the raw row first, then against what is loaded.
    assert raw.loc["K04000001", 2020] == 4561 and raw.loc["K04000001", 2019] == 4393
    assert obs(real, dd.COUNT_ID, "K04000001", "2020")["count"] == 4561
    assert obs(real, dd.COUNT_ID, "K04000001", "2019")["count"] == 4393
    lads = raw[raw.index.str.match(r"^(E06|E07|E08|E09)")]
    for year in (2019, 2020):
        assert obs(real, dd.COUNT_ID, "E92000001", str(year))["count"] == lads[year].sum() == raw.loc["E92000001", year]
    assert real.files[0]["encoding"] == "windows-1252" and real.files[0]["rows"] == 375


def test_real_csp_sums_and_rates(real, raw, real_geo):
    # A CSP of several districts, from the 2021 lookup: sum of the districts' raw rows.
    links = real_geo.links
    lad_csp = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp") & links["valid_to"].isna()]
    sizes = lad_csp.groupby("parent_code")["child_code"].nunique()
    multi = sizes[sizes > 1].index[0]
    members = sorted(lad_csp.loc[lad_csp["parent_code"] == multi, "child_code"])
    assert all(lad_csp["child_code"].value_counts()[m] == 1 for m in members)
    assert obs(real, dd.COUNT_ID, multi, "2020")["count"] == raw.loc[members, 2020].sum()
    # Oxford CSP (one district) and Cardiff's Welsh CSP: 3-year crude rate from raw + population.
    p = real_geo.population
    for csp, lad in (("E22000308", "E07000178"), ("W14000015", "W06000015")):
        deaths = raw.loc[lad, [2018, 2019, 2020]].sum()
        pop = sum(float(p.loc[(p["area_code"] == csp) & (p["year"] == y) & (p["age_band"] == "all")
                              & (p["sex"] == "persons"), "persons"].iloc[0]) for y in (2018, 2019, 2020))
        r = obs(real, dd.RATE_ID, csp, "2018-2020")
        assert r["count"] == deaths and r["value"] == pytest.approx(deaths / pop * 1e5)
        # Byar is close to the exact (chi-square) interval at these counts: an independent check.
        exact_up = stats.chi2.ppf(0.975, 2 * deaths + 2) / 2 / pop * 1e5
        assert r["upper_ci"] == pytest.approx(exact_up, rel=0.01)
    # No population before mid-2001 in the warehouse: counts, no rate, reason.
    early = obs(real, dd.RATE_ID, "E22000308", "1993-1995")
    assert early["count"] == raw.loc["E07000178", [1993, 1994, 1995]].sum() and pd.isna(early["value"])
    assert "mid-1993" in early["suppressed_reason"]
    # Every rate shown rests on at least 10 deaths.
    rates = real.observations[real.observations["indicator_id"] == dd.RATE_ID]
    assert len(rates.loc[rates["value"].notna()]) > 0, "nothing to check: an empty result must not pass"
    assert (rates.loc[rates["value"].notna(), "count"] >= 10).all()
    assert rates.loc[rates["count"] < 10, "value"].isna().all()


# ---------------------------------------------------------------- refresh and profile
def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_refresh_bad_file_leaves_live_untouched(fixture_work):
    from etl.refresh import refresh

    src, db = fixture_work
    before = _sha(db)
    path = src / REAL_REL
    text = path.read_bytes().decode("cp1252").replace("E06000005,Darlington,16,", "E06000005,Darlington,:,", 1)
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(SourceError) as err:
        refresh(src, db, quiet=True)
    assert "row 6" in str(err.value) and "'2020'" in str(err.value) and path.name in str(err.value)
    assert _sha(db) == before


def test_refresh_picks_up_a_new_year_and_lists_it(fixture_work):
    from etl.refresh import refresh

    src, db = fixture_work
    path = src / REAL_REL
    with open(path, encoding="cp1252", newline="") as fh:
        rows = list(csv.reader(fh))
    rows = [[r[0], r[1], "2021" if i == 0 else r[2], *r[2:]] for i, r in enumerate(rows)]  # 2021 = 2020 again
    with open(path, "w", encoding="cp1252", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    result = refresh(src, db, quiet=True)
    assert result.status == "built"
    new = {x["indicator_id"]: x["periods"] for x in result.changelog["new_periods"]}
    assert "2021" in new[dd.COUNT_ID] and "2019-2021" in new[dd.RATE_ID]
    con = duckdb.connect(str(db), read_only=True)
    (n,), = con.execute("SELECT count(*) FROM observations WHERE indicator_id = ? AND period_label = '2019-2021' "
                        "AND value IS NOT NULL", [dd.RATE_ID]).fetchall()
    con.close()
    assert n > 500  # a rate for most areas: mid-2021 population is in the warehouse


def test_profile_shows_drug_deaths_for_an_english_and_a_welsh_csp(fixture_built, monkeypatch, mirror):
    from streamlit.testing.v1 import AppTest

    _, db = fixture_built
    monkeypatch.setenv("SVD_DB", str(db))
    con = duckdb.connect(str(db), read_only=True)
    for csp in ("E22000308", "W14000015"):  # Oxford; Cardiff
        (count, value), = con.execute(
            "SELECT count, value FROM observations WHERE indicator_id = ? AND area_code = ? "
            "AND period_label = '2018-2020'", [dd.RATE_ID, csp]).fetchall()
        at = AppTest.from_file(str(ROOT / "pages/1_Area_profile.py"), default_timeout=120)
        at.query_params["area"] = csp
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        text = "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])
        line = next(ln for ln in text.split("\n") if ln.startswith("**Deaths related to drug poisoning, 3-year rate"))
        assert "Community Safety Partnership" in line and "2018-2020" in line and f"**{value:,.1f}**" in line
        assert ":blue-badge[official statistics]" in line
        assert "Deaths related to drug poisoning by local authority, England and Wales" in text  # source
        assert "Office for National Statistics" in text
    con.close()


def test_real_figures_lead_headlines_defaults_and_the_family(fixture_built, monkeypatch):
    """Synthetic treatment stand-ins are never a headline or a default, by rule: drug deaths
    (official) lead the drug family on the home page fallback, the map/compare default and the
    profile."""
    from streamlit.testing.v1 import AppTest

    from app import profile as pr
    from app import queries as q

    _, db = fixture_built
    monkeypatch.setenv("SVD_DB", str(db))
    con = duckdb.connect(str(db), read_only=True)
    synthetic = {i for (i,) in con.execute(
        "SELECT DISTINCT o.indicator_id FROM observations o JOIN indicators i USING (indicator_id) "
        "WHERE i.family = 'drug_treatment' AND o.quality = 'synthetic'").fetchall()}
    con.close()
    assert synthetic, "the fixture mirror has no real treatment file, so its stand-ins are synthetic"
    stand_in = sorted(synthetic)[0]
    # Even when a synthetic indicator is the preferred one, a real one leads.
    assert q.lead_indicator([stand_in, dd.COUNT_ID, dd.RATE_ID], preferred=stand_in) == dd.COUNT_ID
    assert q.lead_indicator([stand_in]) == stand_in  # nothing else: the stand-in (labelled) it is
    latest = q.latest_national()
    assert "synthetic" not in set(latest["quality"])
    assert set(latest["family"]) >= {"knife_crime", "drug_treatment"}
    # A family whose headline were a stand-in still leads with a real national figure.
    monkeypatch.setitem(q.HEADLINE_INDICATORS, "drug_treatment", stand_in)
    drug_head = q.latest_national().set_index("family").loc["drug_treatment"]
    assert drug_head["indicator_id"] != stand_in and drug_head["quality"] == "official"
    # Profile: within the drug family, the official drug-death rows come before the stand-ins.
    _, rows = pr.csp_profile("E22000308")
    drug = rows[rows["family"] == "drug_treatment"]
    assert set(drug["indicator_id"][:2]) == {dd.COUNT_ID, dd.RATE_ID}
    assert set(drug["quality"].iloc[2:].dropna()) == {"synthetic"}
    # Map with no indicator in the URL opens on a real figure.
    at = AppTest.from_file(str(ROOT / "pages/2_Map.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    chosen = at.selectbox(key="sel_indicator").value
    assert q.indicator_quality_ranks()[chosen] == q.QUALITY_RANK["official"]


def test_status_lists_the_source_with_its_periods_and_areas(fixture_built):
    from etl.status import status

    _, db = fixture_built
    mine = next(s for s in status(db)["sources"] if s["source_id"] == dd.SOURCE_ID)
    # 28 registration years and 26 three-year periods; 331 LADs + summed CSPs + 9 regions + 3.
    assert mine["periods"] == 28 + 26 and mine["quality"] == "official" and mine["origin"] == "mirror"
    assert (mine["first_period"], mine["last_period"]) == ("1993-01-01", "2020-12-31")
    assert mine["areas"] > 331 + 290 + 9 + 3
