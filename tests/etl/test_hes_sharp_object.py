"""HES assault by sharp object (NHS Digital tabulation, region of residence by month).

Two kinds of test: on the real workbook in the mirror (figures checked against the numbers the
publisher and the PQ answers give, and totals reconciled by reading England's rows with
openpyxl, not with the parser), and on small workbooks made here with openpyxl in the
publisher's layout, damaged in the ways a new edition can differ.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers import hes_sharp_object as hes
from tests.small_geo import ENGLAND, make_geo

REAL = Path("hospital/UK_Knife_Crime_Workbook.xlsx")
FAE, FCE = hes.INDICATOR_IDS["fae"], hes.INDICATOR_IDS["fce"]
ENG_FAE, ENG_FCE = hes.ENGLAND_IDS["fae"], hes.ENGLAND_IDS["fce"]

# Published residence labels in the publisher's order, with the ONS code where one exists.
REGIONS = [("East Midlands", "E12000004"), ("East of England", "E12000006"), ("London", "E12000007"),
           ("North East", "E12000001"), ("North West", "E12000002"), ("South East", "E12000008"),
           ("South West", "E12000009"), ("West Midlands", "E12000005"),
           ("Yorkshire and The Humber", "E12000003")]
OTHERS = ["England - Not Otherwise Specified", "Foreign (incl. Isle of Man & Channel Islands)",
          "Other UK Country", "Unknown"]
RESIDENCES = [n for n, _ in REGIONS] + OTHERS + ["England"]
MONTH_NAMES = ["April", "May", "June", "July", "August", "September", "October", "November",
               "December", "January", "February", "March"]
TITLE = ("Count of Finished Admissions Episodes (FAEs)1 and Finished Consultant Episodes (FCEs)2 where the "
         "external cause code3 was X994 - Assault with sharp object by government office region of "
         "residence4 {what}for {last} (Provisional, Apr {a} - Mar {b})8,9")


# ---------------------------------------------------------------- a small geography made by code
def small_geo() -> GeoContext:
    names = {"E12000001": "North East", "E12000002": "North West", "E12000003": "Yorkshire And The Humber",
             "E12000004": "East Midlands", "E12000005": "West Midlands", "E12000006": "East",
             "E12000007": "London", "E12000008": "South East", "E12000009": "South West"}
    return make_geo([*((c, n, "region") for c, n in names.items()), ENGLAND], [],
                    [(c, y, "all", float(POP[c])) for c in [*names, "E92000001"] for y in range(2012, 2022)])


POP = {code: 1_000_000 + 100_000 * i for i, (_, code) in enumerate(REGIONS)} | {"E92000001": 50_000_000}


# ---------------------------------------------------------------- a workbook in the publisher's layout
def region_fae(r: int, k: int, fy: int) -> int:
    """The made-up regional FAE count (a multiple of 5) for region r, month k of year fy."""
    return 5 * (r + 2 + (k % 3) + (fy - 2019))


def cell_value(res: int, k: int, fy: int, measure: str):
    """What the totals sheet shows for residence `res` (index in RESIDENCES)."""
    if res < 9:
        if res == 6 and k == 5:
            return "*"  # South West, September: suppressed
        v = region_fae(res, k, fy)
        return v + 5 if measure == "fce" and k == 0 else v
    if res == 9:
        return "*"
    if res == 10:
        return 0
    if res == 11:
        return None  # empty, as in the real file's 'Foreign' column in some years
    if res == 12:
        return 10
    return england(k, fy, measure)


def england(k: int, fy: int, measure: str) -> int:
    """England is exact: the regions' made-up counts plus 7 (the rounding and the suppressed)."""
    fae = sum(region_fae(r, k, fy) for r in range(9)) + 7
    return fae + (3 if measure == "fce" else 0)


def region_total(r: int, fy: int, measure: str) -> int:
    known = sum(v for k in range(12) if isinstance(v := cell_value(r, k, fy, measure), int))
    return 5 * round(known / 5)


def make_workbook(path: Path, years=(2019, 2020), *, skip: tuple[str, ...] = (), header_gap: int = 0,
                  sheet_names: dict[str, str] | None = None, mislabel_last_total: bool = True) -> Path:
    names = {"totals": "GOR-Data-Totals", "sex": "GOR-Data-Gender", "age": "GOR-Data-Age-Group",
             "ethnicity": "GOR-Data-Ethnicity"} | (sheet_names or {})
    last = years[-1]
    title = dict(last=f"{last}-{(last + 1) % 100:02d}", a=last % 100, b=(last + 1) % 100)
    wb = openpyxl.Workbook()
    wb.active.title = "Interpretation"
    wb.active.append(["Non-DARS tabulation request"])

    if "totals" not in skip:
        ws = wb.create_sheet(names["totals"])
        ws.append([TITLE.format(what="", **title)])
        ws.append([])
        ws.append([])
        ws.append(["Activity in English NHS Hospitals and English NHS commissioned activity in the independent sector"])
        for _ in range(header_gap):
            ws.append(["(a note inserted above the header)"])
        ws.append(["", ""] + [x for n in RESIDENCES for x in (n, "")])
        ws.append(["Year", "Month"] + ["FAEs", "FCEs"] * len(RESIDENCES) + ["", "", ""])
        for fy in years:
            for k, month in enumerate(MONTH_NAMES):
                ws.append([f"{fy}-{(fy + 1) % 100:02d}" if k == 0 else "", month]
                          + [cell_value(i, k, fy, m) for i in range(len(RESIDENCES)) for m in ("fae", "fce")]
                          + ["", "", 285 if k == 0 else None])  # a stray cell outside the table
            label = fy - 1 if (fy == last and mislabel_last_total and len(years) > 1) else fy
            ws.append([f"{label}-{(label + 1) % 100:02d} Total", ""]
                      + [(region_total(i, fy, m) if i < 9 else ("*" if i == 9 else 0 if i in (10, 11) else 120))
                         if i < 13 else sum(england(k, fy, m) for k in range(12))
                         for i in range(len(RESIDENCES)) for m in ("fae", "fce")])
        ws.append(["Source: Hospital Episode Statistics (HES), NHS Digital"])

    def breakdown(kind: str, column: str | None, categories: list[str], sexes: bool = False) -> None:
        ws = wb.create_sheet(names[kind])
        ws.append([TITLE.format(what=f"and {kind} ", **title)])
        ws.append(["Source: Hospital Episode Statistics (HES), NHS Digital"])
        lead = ["", ""] + ([""] if column else [])
        per = 4 if sexes else 2
        ws.append(lead + [x for n in RESIDENCES for x in [n] + [""] * (per - 1)])
        if sexes:
            ws.append(lead + ["Female", "", "Male", ""] * len(RESIDENCES))
        ws.append(["Year", "Month"] + ([column] if column else []) + ["FAEs", "FCEs"] * (len(RESIDENCES) * per // 2))
        for fy in years:
            for k, month in enumerate(MONTH_NAMES):
                for j, cat in enumerate(categories):
                    first = [f"{fy}-{(fy + 1) % 100:02d}" if (k == 0 and j == 0) else "",
                             month if j == 0 else "-"] + ([cat] if column else [])
                    ws.append(first + [("*" if r < 13 else 3) if j else (5 if r < 13 else 9)
                                       for r in range(len(RESIDENCES)) for _ in range(per)])
            ws.append([f"{fy}-{(fy + 1) % 100:02d} Total", ""] + ([""] if column else [])
                      + [60 if r < 13 else 12 * (9 + 3 * (len(categories) - 1))
                         for r in range(len(RESIDENCES)) for _ in range(per)])

    if "sex" not in skip:
        breakdown("sex", None, ["all"], sexes=True)
    if "age" not in skip:
        breakdown("age", "Age group", ["10 to 19", "20-29"])
    if "ethnicity" not in skip:
        breakdown("ethnicity", "Ethnicity", ["White", "Black or Black British"])
    other = wb.create_sheet("UK_Stabbings_Totals")  # the sharer's sheet: must never be read
    other.append(["Year", "Month", "Monthly_Episodes", "Annual_Episodes"])
    other.append(["2019 - 2020", "April", "not a number", -1])
    wb.create_sheet("Footnotes").append(["12. Disclosure Control"])
    wb.save(path)
    return path


def edit(path: Path, sheet: str, cell: str, value) -> Path:
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    return path


@pytest.fixture
def book(tmp_path) -> Path:
    return make_workbook(tmp_path / "UK_Knife_Crime_Workbook.xlsx")


def obs_of(staged, indicator: str, code: str, label: str) -> pd.Series:
    o = staged.observations
    hit = o[(o["indicator_id"] == indicator) & (o["area_code"] == code) & (o["period_label"] == label)]
    assert len(hit) == 1, (indicator, code, label, len(hit))
    return hit.iloc[0]


# ---------------------------------------------------------------- made-by-code workbooks
def test_made_workbook_parses_to_the_values_written(book):
    st = hes.parse_file(book, small_geo())
    # London (region index 2), July 2019 (k=3): 5 * (2 + 2 + 0 + 0) = 20; rate on mid-2019 population.
    london = obs_of(st, FAE, "E12000007", "2019-07")
    assert london["count"] == 20
    assert london["value"] == pytest.approx(20 / 1_200_000 * 100_000)
    assert "rounded to the nearest 5" in london["note"]
    # FCEs are a separate indicator with their own counts (April: FAE + 5).
    assert obs_of(st, FCE, "E12000007", "2019-04")["count"] == obs_of(st, FAE, "E12000007", "2019-04")["count"] + 5
    # NHS Digital's England (all patients, exact) is its own count indicator, from the total row.
    eng_fy = obs_of(st, ENG_FAE, "E92000001", "2019/20")
    assert eng_fy["count"] == eng_fy["value"] == sum(england(k, 2019, "fae") for k in range(12))
    # The regional indicators' England counts as the regions do: the sum of their published totals.
    residents = obs_of(st, FAE, "E92000001", "2019/20")
    assert residents["count"] == sum(region_total(r, 2019, "fae") for r in range(9))
    assert residents["value"] == pytest.approx(residents["count"] / 50_000_000 * 100_000)
    july = obs_of(st, FAE, "E92000001", "2019-07")
    assert july["count"] == sum(region_fae(r, 3, 2019) for r in range(9))
    september = obs_of(st, FAE, "E92000001", "2019-09")  # South West suppressed: no sum, and why
    assert pd.isna(september["count"]) and "South West" in september["suppressed_reason"]
    # Suppressed: missing with the footnote's reason, never zero.
    sw = obs_of(st, FAE, "E12000009", "2019-09")
    assert pd.isna(sw["count"]) and pd.isna(sw["value"])
    assert "between 1 and 7" in sw["suppressed_reason"]
    # Jan-Mar 2021 fall in calendar 2021 (population held); the stray cell and the sharer's sheet are ignored.
    assert obs_of(st, FAE, "E12000008", "2021-03")["denominator"] == POP["E12000008"]
    assert set(st.stats["sheets"].values()) == {"GOR-Data-Totals", "GOR-Data-Gender", "GOR-Data-Age-Group",
                                                "GOR-Data-Ethnicity"}
    # Nine regions and England only; the non-area residence labels go to their own table.
    assert set(st.observations["area_code"]) == {c for _, c in REGIONS} | {"E92000001"}
    other = st.tables["hes_sharp_object_other_residence"]
    foreign = other[(other["residence"] == OTHERS[2]) & (other["period_label"] == "2019-04")]
    assert len(foreign) > 0, "nothing to check: an empty result must not pass"
    assert foreign["count"].isna().all() and foreign["suppressed_reason"].str.contains("empty").all()


def test_mislabelled_last_total_is_read_as_the_year_it_closes(book):
    st = hes.parse_file(book, small_geo())
    assert obs_of(st, ENG_FAE, "E92000001", "2020/21")["count"] == sum(england(k, 2020, "fae") for k in range(12))
    fixes = st.tables["hes_sharp_object_label_corrections"]
    assert list(fixes["published_label"]) == ["2019-20 Total"]
    assert list(fixes["read_as"]) == ["2020/21 total"]


def test_reconciliation_table_checks_england_months_against_its_total(book):
    st = hes.parse_file(book, small_geo())
    rec = st.tables["hes_sharp_object_reconciliation"]
    row = rec[(rec["financial_year"] == "2019/20") & (rec["measure"] == "FAE")].iloc[0]
    assert row["england_published_total"] == row["england_months_sum"] == sum(england(k, 2019, "fae")
                                                                              for k in range(12))
    assert row["regions_published_total_sum"] == sum(region_total(r, 2019, "fae") for r in range(9))


def test_breakdowns_keep_categories_and_repeat_months(book):
    st = hes.parse_file(book, small_geo())
    b = st.tables["hes_sharp_object_breakdowns"]
    age = b[(b["dimension"] == "age") & (b["area_code"] == "E92000001") & (b["period_label"] == "2019-05")]
    assert set(age["category_key"]) == {"10-19", "20-29"}
    assert sorted(age["count"].dropna()) == [3, 3, 9, 9]  # row 2's month is '-' (the month above)
    sex = b[(b["dimension"] == "sex") & (b["residence"] == "London") & (b["period_label"] == "2019-04")]
    assert set(sex["category"]) == {"female", "male"}


def test_new_year_is_picked_up_as_new_periods(tmp_path):
    path = make_workbook(tmp_path / "wb.xlsx", years=(2019, 2020, 2021, 2022))
    st = hes.parse_file(path, small_geo())
    labels = set(st.observations["period_label"])
    assert {"2022-04", "2023-03", "2022/23"} <= labels
    # mid-2022 and mid-2023 populations are not held: counts stay, no rate, and the reason is given.
    late = obs_of(st, FAE, "E12000007", "2022-06")
    assert late["count"] == region_fae(2, 2, 2022) and pd.isna(late["value"])
    assert "mid-2022" in late["suppressed_reason"] and "mid-2012 to mid-2021" in late["suppressed_reason"]
    assert "provisional" in late["note"]
    assert "provisional" not in obs_of(st, FAE, "E12000007", "2021-06")["note"]


def test_sheets_found_by_content_not_name_or_position(tmp_path):
    path = make_workbook(tmp_path / "wb.xlsx", sheet_names={"totals": "Table 1", "ethnicity": "Tbl 4"},
                         header_gap=2)
    st = hes.parse_file(path, small_geo())
    assert st.stats["sheets"]["totals"] == "Table 1"
    assert obs_of(st, FAE, "E12000007", "2019-07")["count"] == 20


def error_of(path: Path) -> SourceError:
    with pytest.raises(SourceError) as err:
        hes.parse_file(path, small_geo())
    return err.value


@pytest.mark.parametrize("kind,sheet", [("totals", "GOR-Data-Totals"), ("ethnicity", "GOR-Data-Ethnicity")])
def test_missing_sheet_is_named(tmp_path, kind, sheet):
    e = error_of(make_workbook(tmp_path / "wb.xlsx", skip=(kind,)))
    assert sheet in e.message and "missing" in e.message
    assert e.file == "wb.xlsx"


@pytest.mark.parametrize("sheet, cell, value, at, words", [
    ("GOR-Data-Totals", "M5", "South-East England", (5, "M"), ("South-East England",)),   # region renamed
    ("GOR-Data-Age-Group", "H4", "Admissions", (4, "H"), ()),                           # measure renamed
    ("GOR-Data-Totals", "B6", "Period", (6, "B"), ("Month",)),                          # header row moved
    # Row 10 = July 2019; AC = England FAEs. England's totals are exact: '*' there is not the footnote's.
    ("GOR-Data-Totals", "AC10", "*", (10, "AC (England FAEs)"), ()),
    # G9 = London FAEs, June 2019
    ("GOR-Data-Totals", "G9", "<5", (9, "G (London FAEs)"), ("not a count",)),
    ("GOR-Data-Totals", "G9", 12, (9, "G (London FAEs)"), ("not rounded to 5",)),
    ("GOR-Data-Totals", "G9", -5, (9, "G (London FAEs)"), ("non-negative",)),
    # AC7 = England FAEs, April 2019, one more than made: England's months no longer add up to
    # its published year total, and the error points at that total's row (19)
    ("GOR-Data-Totals", "AC7", england(0, 2019, "fae") + 1, (19, "England FAEs"), ("add up to",)),
    ("GOR-Data-Totals", "B8", "April", (8, "B (Month)"), ("twice",)),                  # month repeated
    ("GOR-Data-Gender", "C4", "Unknown sex", (4, "C"), ()),
], ids=["renamed_region", "renamed_measure", "changed_header_row", "suppressed_england_total",
        "marker_in_region", "unrounded_region", "negative_region", "england_not_adding_up",
        "duplicate_month", "unknown_sex_label"])
def test_bad_cell_names_sheet_row_and_column(book, sheet, cell, value, at, words):
    e = error_of(edit(book, sheet, cell, value))
    assert e.file == f"UK_Knife_Crime_Workbook.xlsx (sheet '{sheet}')"
    assert (e.row, e.column) == at
    for w in words:
        assert w in e.message


# ---------------------------------------------------------------- the real workbook
@pytest.fixture(scope="module")
def real(mirror, real_geo):
    path = mirror / REAL
    if not path.exists():
        pytest.skip("HES workbook not in the mirror")
    return path, hes.parse_file(path, real_geo)


def england_rows_by_openpyxl(path: Path) -> tuple[dict, dict]:
    """Independently of the parser: England's FAE/FCE month sums and published totals per
    financial year, read cell by cell from GOR-Data-Totals (the last total's year from the
    months above it)."""
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)["GOR-Data-Totals"]
    rows = list(ws.iter_rows(values_only=True))
    names = rows[4]
    col = names.index("England")
    sums: dict = {}
    totals: dict = {}
    year = None
    for r in rows[6:]:
        label = str(r[0] or "").strip()
        if label[:4].isdigit() and "total" not in label.lower():
            year = int(label[:4])
        if "total" in label.lower():
            totals[year] = (r[col], r[col + 1])
        elif r[1]:
            fae, fce = sums.get(year, (0, 0))
            sums[year] = (fae + r[col], fce + r[col + 1])
    return sums, totals


def test_real_england_totals_match_published_figures(real):
    _, st = real
    assert obs_of(st, ENG_FAE, "E92000001", "2018/19")["count"] == 5069
    assert obs_of(st, ENG_FAE, "E92000001", "2019/20")["count"] == 4674
    assert obs_of(st, ENG_FCE, "E92000001", "2019/20")["count"] == 4757
    assert obs_of(st, FAE, "E12000007", "2018/19")["count"] == 1155
    # England as the regions count it, 2018/19: the nine published regional totals in the file
    # (285 + 370 + 1155 + 250 + 810 + 375 + 240 + 590 + 540).
    assert obs_of(st, FAE, "E92000001", "2018/19")["count"] == 4615


def test_real_year_totals_reconcile_with_englands_months(real):
    path, st = real
    sums, totals = england_rows_by_openpyxl(path)
    assert sorted(sums) == list(range(2012, 2022))
    for year, (fae, fce) in sums.items():
        label = f"{year}/{(year + 1) % 100:02d}"
        assert totals[year] == (fae, fce), label
        assert obs_of(st, ENG_FAE, "E92000001", label)["count"] == fae
        assert obs_of(st, ENG_FCE, "E92000001", label)["count"] == fce
    monthly = st.observations[st.observations["indicator_id"].isin([ENG_FAE, ENG_FCE])
                              & (st.observations["period_type"] == "month")]
    assert len(monthly) == 2 * 120


def test_real_suppressed_cells_and_late_months(real, real_geo):
    _, st = real
    sw = obs_of(st, FAE, "E12000009", "2019-06")  # South West, June 2019: '*' in the file
    assert pd.isna(sw["count"]) and "between 1 and 7" in sw["suppressed_reason"]
    late = obs_of(st, FCE, "E12000008", "2022-03")
    assert late["count"] == 25 and pd.isna(late["value"]) and "mid-2022" in late["suppressed_reason"]
    se = obs_of(st, FCE, "E12000008", "2021/22")  # the total row labelled '2020-21 Total'
    assert se["count"] == 375
    pop, _ = real_geo.population_for("E12000008", 2021)
    assert se["value"] == pytest.approx(375 / pop * 100_000)


def test_real_titles_name_the_measure(real):
    _, st = real
    titles = dict(zip(st.indicators["indicator_id"], st.indicators["title"], strict=True))
    assert "admission episodes" in titles[FAE]
    assert "consultant episodes" in titles[FCE] and "admissions" not in titles[FCE].lower().replace(
        "admission episodes", "")


def test_real_breakdown_by_sex(real):
    _, st = real
    b = st.tables["hes_sharp_object_breakdowns"]
    eng = b[(b["dimension"] == "sex") & (b["area_code"] == "E92000001") & (b["period_label"] == "2018/19")
            & (b["measure"] == "FAE")]
    assert dict(zip(eng["category"], eng["count"], strict=True)) == {"female": 393, "male": 4673}


# ---------------------------------------------------------------- through the refresh
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refresh_adds_new_year_and_bad_workbook_leaves_live_untouched(mirror, tmp_path):
    from etl.refresh import refresh
    from tests.fixture_mirror import build_fixture_mirror

    src = build_fixture_mirror(mirror, tmp_path / "mirror")
    (src / "hospital").mkdir()
    book = make_workbook(src / REAL, years=(2019, 2020))
    db = tmp_path / "wh" / "warehouse.duckdb"
    assert refresh(src, db, quiet=True).status == "built"

    make_workbook(book, years=(2019, 2020, 2021))
    result = refresh(src, db, quiet=True)
    new = {x["indicator_id"]: x["periods"] for x in result.changelog["new_periods"]}
    assert "2021-04" in new[FAE] and "2021/22" in new[FCE]

    before = _sha(db)
    edit(book, "GOR-Data-Totals", "M5", "Wessex")
    with pytest.raises(SourceError) as err:
        refresh(src, db, quiet=True)
    assert "Wessex" in str(err.value) and "GOR-Data-Totals" in str(err.value)
    assert _sha(db) == before
    shutil.rmtree(src)


# ---------------------------------------------------------------- on the profile
def test_profile_shows_the_region_where_the_area_is(real_warehouse, monkeypatch):
    from app import profile as pr
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    _, rows = pr.csp_profile("E22000308")  # Oxford CSP, in the South East
    hes_rows = rows[rows["indicator_id"].isin([FAE, FCE])].set_index("indicator_id")
    assert set(hes_rows["geo_label"]) == {"South East region (where Oxford is)"}
    assert set(hes_rows["area_code"]) == {"E12000008"}
    # Compared with England counted the same way (residents of the nine regions), never with
    # NHS Digital's all-patient England total.
    con = duckdb.connect(str(real_warehouse), read_only=True)
    label = hes_rows.loc[FAE, "period_label"]
    (england_residents,), = con.execute(
        "SELECT value FROM observations WHERE indicator_id = ? AND area_code = 'E92000001' AND period_label = ?",
        [FAE, label]).fetchall()
    con.close()
    assert hes_rows.loc[FAE, "bench1_name"] == "England"
    assert hes_rows.loc[FAE, "bench1_value"] == pytest.approx(england_residents)
    # Other indicators never fall back to the region.
    assert not rows[~rows["indicator_id"].isin([FAE, FCE])]["geo_label"].str.contains("region").any()


def test_profile_page_draws_the_regions_control_chart(real_warehouse, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    root = Path(__file__).resolve().parents[2]
    at = AppTest.from_file(str(root / "pages/1_Area_profile.py"), default_timeout=120)
    at.query_params["area"] = "E22000308"
    at.query_params["indicator"] = FAE
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("HES, region of residence" in h.value for h in at.subheader)
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("South East region (where Oxford is)" in spec and "rounded to 5" in spec for spec in charts)


# ---------------------------------------------------------------- the related Fingertips context indicator
def test_child_injuries_90284_loads_as_context_labelled_any_intent(mirror, real_geo):
    from etl.manifest import source_by_id
    from etl.parsers import fingertips

    src = source_by_id("fingertips_child_injuries")
    path = mirror / src.mirror
    if not path.exists():
        pytest.skip("Fingertips 90284 export not in the mirror")
    st = fingertips.parse([path], src, real_geo)
    persons = "fingertips_90284_persons_15"
    ind = st.indicators.set_index("indicator_id").loc[persons]
    assert ind["family"] == "context" and "any intent" in ind["title"] and "not a violence measure" in ind["title"]
    o = st.observations
    eng = o[(o["indicator_id"] == persons) & (o["area_code"] == "E92000001") & (o["period_label"] == "2022/23")]
    assert eng["value"].iloc[0] == pytest.approx(75.37, abs=0.01)  # OHID's published England figure
    wigan = o[(o["indicator_id"] == persons) & (o["area_code"] == "E08000010") & (o["period_label"] == "2019/20")]
    assert wigan["count"].iloc[0] == 655
    # Counties (E10) are held at their own geography now that upper-tier councils are one (Kent);
    # the deprivation-decile breakdowns are not area figures: counted, none dropped silently.
    assert (o["area_code"] == "E10000016").any()
    skipped = st.tables["skipped_rows"]
    assert not skipped["reason"].str.contains(r"\(E10\)").any()
    assert skipped["reason"].str.startswith("breakdown, not an area figure").any()
    with open(path, encoding="utf-8") as fh:
        data_rows = sum(1 for _ in fh) - 1
    assert len(o) + skipped["rows"].sum() == data_rows


def test_breakdown_total_rows_have_no_category_key(book):
    """The '<year> Total' row of the age and ethnicity sheets covers every category: its key is
    NULL, not the text 'nan', and the app's year table still reads it as the all-category total.
    Written by make_workbook: a region's total cell is 60, England's 12 * (9 + 3) = 144."""
    import duckdb

    from app import hes_breakdowns as hb

    b = hes.parse_file(book, small_geo()).tables["hes_sharp_object_breakdowns"]
    for dim in ("age", "ethnicity"):
        totals = b[(b["dimension"] == dim) & (b["period_label"] == "2019/20")]
        assert len(totals) == 2 * len(RESIDENCES)  # FAE and FCE of every residence column
        assert totals["category"].isna().all() and totals["category_key"].isna().all()
        assert not (b["category_key"].astype(str).str.lower() == "nan").any()
        months = b[(b["dimension"] == dim) & (b["period_label"] == "2019-04")]
        assert months["category_key"].notna().all()
    # through the warehouse as the refresh stores it: SQL NULL, and the year table's total row
    con = duckdb.connect(":memory:")
    con.register("staged", b.drop(columns=["sheet", "row"]))
    con.execute("CREATE TABLE hes_sharp_object_breakdowns AS SELECT * FROM staged")
    assert con.execute("SELECT count(*) FROM hes_sharp_object_breakdowns WHERE category_key = 'nan'").fetchone() == (0,)
    stored = con.execute("SELECT * FROM hes_sharp_object_breakdowns WHERE financial_year = '2019/20'").df()
    t = hb.year_table(stored.assign(is_health_source=True), "age", [("E12000007", "London"), ("E92000001", "England")],
                      "2019/20")
    total = t[t["category_key"] == "~total"].set_index(["area_code", "measure"])["count"]
    assert total.to_dict() == {("E12000007", "FAE"): 60, ("E12000007", "FCE"): 60,
                               ("E92000001", "FAE"): 144, ("E92000001", "FCE"): 144}
