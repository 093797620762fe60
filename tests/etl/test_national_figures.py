"""National figures parser: the real file in full, and small bad files made here."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.errors import SourceError
from etl.manifest import Source
from etl.parsers import national_figures as nf
from tests.csv_rows import write_dict_rows

REAL = Path("/work/shared/data/national/national_figures.csv")
SOURCE = Source(id="national_figures", family="national", publisher="various", title="t",
                url="", licence="OGL", attribution="a", format="csv", cadence="as published",
                mirror="national/national_figures.csv", parser="national_figures",
                quality="official")
GOOD_ROW = {
    "series": "hes_admissions_assault_sharp_object", "geography": "England",
    "period": "2018/19", "period_type": "financial_year", "value": "5069",
    "unit": "finished admission episodes (FAE)", "note": "PQ answer",
    "source_title": "Hospitals: Admissions (PQ answered 30 Jan 2020)",
    "source_url": "https://www.parallelparliament.co.uk/question/7137/hospitals-admissions",
    "quote": "Assault by sharp object 5,069",
}

needs_real = pytest.mark.skipif(not REAL.exists(), reason="national figures mirror not present")


def write(tmp_path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    return write_dict_rows(tmp_path / "national_figures.csv", columns or nf.COLUMNS, rows, drop_extra=True)


@pytest.fixture(scope="module")
def real():
    return nf.parse([REAL], SOURCE, None)


@pytest.fixture(scope="module")
def real_rows():
    return pd.read_csv(REAL, dtype=str, keep_default_na=False)


# ------------------------------------------------------------------------- the real file

@needs_real
def test_every_row_in_is_a_row_out(real, real_rows):
    obs, sources = real.observations, real.tables["national_sources"]
    assert len(real_rows) == 159
    # observations = current rows + kept older vintages; nothing dropped or merged
    assert len(obs) == len(real_rows) == len(sources)
    current = sources["is_current"].sum()
    assert current + (~sources["is_current"]).sum() == len(real_rows)
    assert sorted(sources["file_line"]) == list(range(2, len(real_rows) + 2))
    assert real.stats["rows_in"] == real.stats["observations"] == 159


@needs_real
def test_areas_quality_and_lineage(real, real_rows):
    obs = real.observations
    assert set(obs["area_code"]) == {"E92000001", "K04000001", "K02000001"}
    # figures published for the UK are held at the UK code, never under England & Wales
    n_uk = int((real_rows["geography"] == "UK").sum())
    assert n_uk > 0 and (obs["area_code"] == "K02000001").sum() == n_uk
    assert obs.loc[obs["area_code"] == "K02000001", "note"].str.contains("United Kingdom").all()
    # One row has no official statistic behind it (national_figures_problems.md): it says so.
    unsourced = obs[obs["quality"] != "official"]
    assert unsourced["quality"].tolist() == ["unsourced"] and unsourced["value"].tolist() == [10000.0]
    assert unsourced["note"].str.startswith("No official source: ").all()
    assert obs["note"].str.contains(r"Source: .+\(https?://", regex=True).all()
    src = real.tables["national_sources"]
    assert list(src.columns[:10]) == ["indicator_id", "area_code", "period_start", "period_end",
                                      "value", "source_title", "source_url", "quote",
                                      "vintage_rank", "is_current"]
    assert (src["source_url"].str.startswith("http")).all()


@needs_real
def test_each_indicator_has_one_basis_and_one_family(real, real_rows):
    ind = real.indicators
    assert ind["indicator_id"].is_unique
    assert set(real.observations["indicator_id"]) == set(ind["indicator_id"])
    rules = nf.load_series_map()
    labels = rules.groupby(["series", "basis"])["basis_label"].first()
    for _, row in ind.iterrows():
        series, basis = row["indicator_id"].split("__")
        assert row["series"] == series
        assert row["basis"] == labels[(series, basis)]
    fam = dict(zip(ind["indicator_id"], ind["family"]))
    assert fam["police_recorded_knife_offences__ew_excl_gmp_pre_ndqis"] == "knife_crime"
    assert fam["hes_admissions_assault_sharp_object__fae"] == "ae_assault"
    assert fam["adult_drug_alcohol_treatment__ndtms"] == "drug_treatment"
    assert fam["childrens_commissioner_gang_estimates__gang_members_10_17"] == "gangs"
    assert fam["county_lines_nrm_referrals__nrm"] == "context"
    # GMP in/out, FAE/FCE and old/new counting are never one indicator
    assert "hes_admissions_assault_sharp_object__fce" in fam
    assert "police_recorded_knife_offences__ew_excl_gmp_ndqis" in fam
    # every mapping rule is the first match for some real row (no stale or shadowed rules)
    used = {nf.match_basis(row, rules).name for _, row in real_rows.iterrows()}
    assert used == set(rules.index)


@needs_real
def test_every_value_equals_a_number_in_its_quote(real_rows):
    for row in real_rows.itertuples():
        value, lower, upper = nf.parse_value(row.value)
        assert nf.value_in_quote(value, lower, upper, row.quote, row.note), row


@needs_real
def test_conflicting_pair_is_kept_with_the_later_current(real):
    obs = real.observations
    src = real.tables["national_sources"]
    ind = "police_recorded_knife_offences__ew_excl_gmp_pre_ndqis"
    pair = src[(src["indicator_id"] == ind) & (src["period_end"] == pd.Timestamp("2019-03-31"))]
    assert sorted(pair["value"]) == [43516.0, 43706.0]
    assert pair.loc[pair["is_current"], "value"].item() == 43706.0  # Jul 2020 beats Jul 2019
    kept = obs[(obs["indicator_id"] == ind) & (obs["period_end"] == pd.Timestamp("2019-03-31"))]
    assert set(kept["source_id"]) == {"national_figures", "national_figures#rev1"}
    rev = real.tables["revisions"]
    hit = rev[rev["indicator_id"] == ind].iloc[0]
    assert (hit["value_current"], hit["value_previous"]) == (43706.0, 43516.0)
    assert "20 Jul 2020" in hit["source_current"]
    # the homicide revision 285 (Feb 2019) -> 281 (Feb 2023)
    hi = rev[(rev["indicator_id"] == "homicides_knife_sharp_instrument__homicide_index")
             & (rev["value_previous"] == 285.0)]
    assert hi["value_current"].tolist() == [281.0]


@needs_real
def test_same_value_twice_is_kept_but_not_a_revision(real):
    src = real.tables["national_sources"]
    fce = src[(src["indicator_id"] == "hes_admissions_assault_sharp_object__fce")
              & (src["period_end"] == pd.Timestamp("2012-03-31"))]
    assert len(fce) == 2 and fce["is_current"].sum() == 1
    rev = real.tables["revisions"]
    assert not ((rev["indicator_id"] == "hes_admissions_assault_sharp_object__fce")
                & (rev["value_previous"] == 4490.0)).any()


@needs_real
def test_breaks_and_periods(real):
    brk = real.tables["series_breaks"]
    assert list(brk.columns) == ["indicator_id", "area_code", "break_date", "description"]
    assert set(brk["indicator_id"]) <= set(real.indicators["indicator_id"])
    assert pd.Timestamp("2020-04-01") in set(brk["break_date"])
    obs = real.observations.set_index("period_label")
    assert obs.loc["year ending September 2025", "period_start"].min() == pd.Timestamp("2024-10-01")
    assert obs.loc["Jul 2020 to Sep 2020", "period_end"] == pd.Timestamp("2020-09-30")
    cco = real.observations[real.observations["indicator_id"].str.startswith(
        "childrens_commissioner_gang_estimates__gang_members_10_17")]
    assert cco["period_label"].tolist() == ["2017/18"]


@needs_real
def test_range_value_is_kept_as_its_ends(real):
    obs = real.observations
    row = obs[(obs["indicator_id"] == "county_lines__nclcc_active_lines_per_month")
              & obs["value"].isna()].iloc[0]
    assert (row["lower_ci"], row["upper_ci"]) == (800.0, 1100.0)
    assert "not a confidence interval" in row["note"]


# --------------------------------------------------------------------------- helpers

@pytest.mark.parametrize("quote,number", [
    ("rose to 27,000 children", 27000), ("a total of 5,069", 5069), ("1.2 million people", 1.2e6),
    ("46% of people", 46), ("from 800-1,100 in 2019/20", 1100), ("to 1000.", 1000),
])
def test_quote_numbers(quote, number):
    assert number in nf.quote_numbers(quote)


def test_concatenated_table_row_needs_the_note():
    quote = "Alcohol only 8808788020864168754491651891078503580454757877555574618"
    assert 86416 not in nf.quote_numbers(quote)
    assert 86416 in nf.quote_numbers(quote, "parsed from concatenated table row (5-digit values)")


@pytest.mark.parametrize("title,expected", [
    ("Hospitals: Admissions (PQ answered 30 Jan 2020) - Parallel Parliament", "2020-01-30"),
    ("Children's Commissioner press release on Keeping kids safe (Feb 2019)", "2019-02-01"),
    ("Knife killings (AOL/PA, 8 Feb 2018; ONS Homicide YE Mar 2017)", "2018-02-08"),
    ("Knife (titchen.com blog quoting ONS Crime in England and Wales YE Mar 2015)", None),
    ("Adult substance misuse treatment statistics 2018 to 2019: report (PHE)", None),
])
def test_vintage_date(title, expected):
    got = nf.vintage_date(title)
    assert (got.isoformat() if got else None) == expected


def test_undated_rows_use_file_order(tmp_path):
    a = GOOD_ROW | {"source_title": "Page A", "value": "5069"}
    b = GOOD_ROW | {"source_title": "Page B", "value": "5070", "quote": "now 5,070"}
    st = nf.parse([write(tmp_path, [a, b])], SOURCE, None)
    src = st.tables["national_sources"]
    assert src.loc[src["is_current"], "source_title"].item() == "Page B"
    assert st.tables["revisions"]["value_previous"].tolist() == [5069.0]


def test_dated_rows_use_dates_not_file_order(tmp_path):
    a = GOOD_ROW | {"source_title": "Page A (3 Mar 2021)", "value": "5070", "quote": "now 5,070"}
    b = GOOD_ROW | {"source_title": "Page B (1 Jan 2020)"}
    st = nf.parse([write(tmp_path, [a, b])], SOURCE, None)
    src = st.tables["national_sources"]
    assert src.loc[src["is_current"], "value"].item() == 5070.0
    assert st.observations["source_id"].tolist() == ["national_figures", "national_figures#rev1"]


# -------------------------------------------------------------------------- bad input

def test_missing_column(tmp_path):
    path = write(tmp_path, [GOOD_ROW], [c for c in nf.COLUMNS if c != "quote"])
    with pytest.raises(SourceError) as err:
        nf.parse([path], SOURCE, None)
    assert err.value.column == "quote" and err.value.file == "national_figures.csv"


def test_unparseable_period(tmp_path):
    path = write(tmp_path, [GOOD_ROW, GOOD_ROW | {"period": "sometime", "period_type": "?"}])
    with pytest.raises(SourceError) as err:
        nf.parse([path], SOURCE, None)
    assert (err.value.row, err.value.column) == (3, "period")
    assert "national_figures.csv" in str(err.value)


def test_period_contradicting_its_type(tmp_path):
    bad = GOOD_ROW | {"period": "2017/18", "period_type": "year ending March 2019"}
    with pytest.raises(SourceError, match="contradicts"):
        nf.parse([write(tmp_path, [bad])], SOURCE, None)


def test_value_not_in_quote(tmp_path):
    path = write(tmp_path, [GOOD_ROW | {"value": "5096"}])
    with pytest.raises(SourceError) as err:
        nf.parse([path], SOURCE, None)
    assert (err.value.row, err.value.column) == (2, "quote")
    assert "5096" in str(err.value)


def test_unmapped_basis_is_an_error(tmp_path):
    path = write(tmp_path, [GOOD_ROW | {"unit": "admissions of some new kind"}])
    with pytest.raises(SourceError) as err:
        nf.parse([path], SOURCE, None)
    assert err.value.column == "unit" and err.value.row == 2


def test_unmapped_geography_is_an_error(tmp_path):
    with pytest.raises(SourceError, match="geography"):
        nf.parse([write(tmp_path, [GOOD_ROW | {"geography": "Scotland"}])], SOURCE, None)


@pytest.mark.parametrize("content", ["", ",".join(nf.COLUMNS) + "\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "national_figures.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError) as err:
        nf.parse([path], SOURCE, None)
    assert err.value.file == "national_figures.csv"


# ------------------------------------------------------- producer's release and corrections
ORIGIN = REAL.with_name("national_figures_origin.csv")
ORIGIN_ROW = {"row": "1", "series": GOOD_ROW["series"], "period": "2018/19", "value": "5069",
              "producer": "NHS Digital", "release_title": "Hospital Admitted Patient Care Activity 2018-19",
              "release_date": "2019-09-19", "table": "External Causes", "release_url": "https://digital.nhs.uk/x",
              "confidence": "confirmed", "how": "matched"}


def write_origin(tmp_path: Path, rows: list[dict]) -> Path:
    return write_dict_rows(tmp_path / "national_figures_origin.csv", nf.ORIGIN_COLUMNS, rows)


@pytest.mark.skipif(not ORIGIN.exists(), reason="origin file not in the mirror")
def test_real_origin_and_corrections(real_rows):
    st = nf.parse([REAL, ORIGIN], SOURCE, None)
    src = st.tables["national_sources"].set_index("file_line")
    origin = pd.read_csv(ORIGIN, dtype=str, keep_default_na=False).set_index("row")
    assert src["producer"].notna().all() and len(src) == len(real_rows)
    first = src.loc[2]  # data row 1: FAE 5,069
    assert first["producer"] == origin.loc["1", "producer"] == "NHS Digital (now NHS England)"
    assert (first["release_title"], first["release_date"]) == ("Hospital Admitted Patient Care Activity 2018-19",
                                                               "2019-09-19")
    assert first["release_table"].startswith("External Causes tables")
    # The quoted value never changes; a wrong basis moves; a figure with no official source says so.
    quoted = pd.Series([nf.parse_value(v)[0] for v in real_rows["value"]], dtype=float)
    pd.testing.assert_series_equal(src["value"].reset_index(drop=True).astype(float), quoted, check_names=False)
    for row in (141, 142, 147):
        assert src.loc[row + 1, "indicator_id"] == "homicides_knife_sharp_instrument__police_recorded_excl_gmp"
        assert src.loc[row + 1, "correction_kind"] == "coverage"
    assert src.loc[6, "indicator_id"] == "hes_admissions_assault_sharp_object__fae"  # row 5: FAE per Hansard
    assert src.loc[123, "no_official_source"] and src["no_official_source"].sum() == 1
    obs = st.observations
    assert obs.loc[obs["value"] == 10000.0, "quality"].tolist() == ["unsourced"]
    problems = (REAL.parent / "national_figures_problems.md").read_text()
    for row in src.index[src["correction"].notna()] - 1:  # each correction is a row the problems file names
        assert f"{row}" in problems


def test_origin_naming_another_figure_is_an_error(tmp_path):
    figures = write(tmp_path, [GOOD_ROW])
    origin = write_origin(tmp_path, [ORIGIN_ROW | {"value": "5070"}])
    with pytest.raises(SourceError) as err:
        nf.parse([figures, origin], SOURCE, None)
    e = err.value
    assert (e.file, e.row, e.column) == ("national_figures_origin.csv", 2, "value")
    assert "not the same edition" in str(e)


def test_origin_missing_a_row_or_bad_date_is_an_error(tmp_path):
    figures = write(tmp_path, [GOOD_ROW, GOOD_ROW | {"source_title": "B"}])
    with pytest.raises(SourceError, match="no origin for figure row"):
        nf.parse([figures, write_origin(tmp_path, [ORIGIN_ROW])], SOURCE, None)
    with pytest.raises(SourceError) as err:
        nf.parse([figures, write_origin(tmp_path, [ORIGIN_ROW, ORIGIN_ROW | {"row": "2", "release_date": "Sept 19"}])],
                 SOURCE, None)
    assert (err.value.row, err.value.column) == (3, "release_date")


def test_origin_is_carried_to_the_lineage_table(tmp_path):
    st = nf.parse([write(tmp_path, [GOOD_ROW]), write_origin(tmp_path, [ORIGIN_ROW])], SOURCE, None)
    src = st.tables["national_sources"].iloc[0]
    assert (src["producer"], src["release_date"], src["release_url"]) == ("NHS Digital", "2019-09-19",
                                                                        "https://digital.nhs.uk/x")
    assert {f["name"] for f in st.files} == {"national_figures.csv", "national_figures_origin.csv"}
