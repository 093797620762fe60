"""ISTV extract parser: validation, de-duplication, method mapping and aggregation."""
from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import Source
from etl.parsers import istv
from etl.synthetic.sidecar import write_sidecar
from tests.small_geo import ENGLAND, NORTH_EAST, TEES_CSPS, TEES_LAD_CSP, TEES_LADS, make_geo

SOURCE = Source(id="istv_ae_assaults", family="ae_assault", publisher="EDs", title="t", url="",
                licence="DSA", attribution="a", format="csv", cadence="monthly",
                mirror="istv/*.csv", parser="istv", quality="official")
POPULATION = {"E22000001": 92_000.0, "E22000002": 143_000.0}


def small_geo() -> GeoContext:
    return make_geo([*TEES_LADS, *TEES_CSPS, NORTH_EAST, ENGLAND], TEES_LAD_CSP,
                    [(code, 2021, band, persons * share) for code, persons in POPULATION.items()
                     for band, share in (("all", 1.0), ("10-17", 0.1), ("10-24", 0.17))],
                    source_id="ons_mye_2021")


def attendance(csp: str, arrival: str, assault: str, method: str, **extra: str) -> dict:
    row = {"reporting_period_start": "2023-04-01", "reporting_period_end": "2023-05-31",
           "ed_site_code": "RXX01", "ed_site_name": "Test ED", "csp_code": csp,
           "arrival_datetime": arrival, "assault_datetime": assault,
           "assault_location_type": "Street", "assault_location_description": "",
           "assault_method": method, "assault_method_other": "", "age_band": "18-24",
           "sex": "male"}
    row.update(extra)
    return row


def extract_rows() -> list[dict]:
    a, b = "E22000001", "E22000002"
    return [
        attendance(a, "2023-04-01 00:40", "2023-04-01 00:05", "Knife"),             # line 2 Sat
        attendance(a, "2023-04-01 23:50", "2023-04-01 22:30", "punched"),           # 3 Sat
        attendance(a, "2023-04-07 02:10", "2023-04-07 01:15", "Bat or club"),       # 4 Fri
        attendance(a, "2023-04-07 02:10", "2023-04-07 01:15", "Bat or club"),       # 5 repeat
        attendance(a, "2023-04-15 21:00", "", "  KNIFE OR SHARP OBJECT "),          # 6 no time
        attendance(a, "2023-04-20 13:00", "2023-04-20 14:00", "Vehicle"),           # 7 after
        attendance(b, "2023-04-03 20:15", "2023-04-03 19:40", "Firearm"),           # 8 Mon
        attendance(b, "2023-05-06T23:59:00", "2023-05-06 23:10", ""),               # 9 Sat
        attendance(b, "2023-05-31 23:59", "2023-05-31 22:00", "Sharp object",
                   age_band="10-17", sex="Female"),                                   # 10 Wed
    ]


def write(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=istv.LAYOUT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def expected_counts(rows: list[dict]) -> Counter:
    """Counts by (csp, month, dimension, category) computed from the raw rows, independently
    of the parser: plain Python over the dicts and the method map read with csv."""
    with istv.METHOD_MAP_PATH.open(encoding="utf-8") as handle:
        mapping = {" ".join(r["raw_value"].split()).casefold(): r["category"]
                   for r in csv.DictReader(handle)}
    out: Counter = Counter()
    seen = set()
    for row in rows:
        key = tuple(row[c] for c in istv.LAYOUT_COLUMNS)
        if key in seen:
            continue
        seen.add(key)
        arrival = datetime.fromisoformat(row["arrival_datetime"].replace("T", " "))
        month = arrival.strftime("%Y-%m-01")
        csp = row["csp_code"]
        weapon = mapping.get(" ".join(row["assault_method"].split()).casefold(), "unknown")
        assault = (datetime.fromisoformat(row["assault_datetime"])
                   if row["assault_datetime"] else None)
        if assault is None or assault > arrival:
            hour = dow = hour_dow = "unknown"
        else:
            hour, dow = f"{assault.hour:02d}", assault.strftime("%a")
            hour_dow = f"{dow} {hour}"
        for dimension, category in (("weapon", weapon), ("hour", hour), ("dow", dow),
                                    ("hour_dow", hour_dow), ("month", "all")):
            out[(csp, month, dimension, category)] += 1
    return out


def test_aggregation_matches_counts_from_raw_rows(tmp_path: Path) -> None:
    rows = extract_rows()
    staged = istv.parse([write(tmp_path / "extract.csv", rows)], SOURCE, small_geo())
    counts = staged.tables["istv_counts"]
    assert list(counts.columns) == istv.COUNT_COLUMNS
    got = {(c, m.strftime("%Y-%m-%d"), d, k): n for c, m, d, k, n in
           counts[["csp_code", "month", "dimension", "category", "count"]].itertuples(index=False)}
    expected = expected_counts(rows)
    assert {k: v for k, v in got.items() if v} == dict(expected)
    # complete grids: 2 CSPs x 2 months x (6 + 25 + 8 + 169 + 1) categories, zeros included
    assert len(counts) == 2 * 2 * (6 + 25 + 8 + 169 + 1)
    assert got[("E22000001", "2023-05-01", "month", "all")] == 0  # covered month, no rows
    assert set(counts["quality"]) == {"official"}

    obs = staged.observations.set_index(["indicator_id", "area_code", "period_label"])
    for (csp, month, dimension, category), n in expected.items():
        label = month[:7]
        if dimension == "month":
            total = obs.loc[("istv_assault_attendances", csp, label)]
            assert total["count"] == n
            assert total["value"] == pytest.approx(n / POPULATION[csp] * 100_000)
            assert "mid-year 2021" in total["note"] and "nearest" in total["note"]
        if dimension == "weapon" and category == "knife_sharp":
            assert obs.loc[("istv_knife_sharp_attendances", csp, label), "count"] == n
    zero = obs.loc[("istv_knife_sharp_attendances", "E22000002", "2023-04")]
    assert zero["count"] == 0 and zero["value"] == 0
    assert len(obs) == 2 * 2 * 2
    assert obs.reset_index()["period_start"].min() == pd.Timestamp("2023-04-01")


def test_checks_table_counts_duplicates_flags_and_unmapped(tmp_path: Path) -> None:
    staged = istv.parse([write(tmp_path / "extract.csv", extract_rows())], SOURCE, small_geo())
    checks = staged.tables["istv_data_checks"].set_index("check")
    assert list(staged.tables["istv_data_checks"].columns) == istv.CHECK_COLUMNS
    assert checks.loc["duplicate_rows_removed", "rows"] == 1
    assert checks.loc["assault_after_arrival", "rows"] == 1
    assert checks.loc["assault_time_missing", "rows"] == 1
    assert checks.loc["method_blank", "rows"] == 1
    assert checks.loc["method_unmapped", "rows"] == 1
    assert "Vehicle" in checks.loc["method_unmapped", "detail"]


def test_indicators_are_health_source_and_no_disclosure_control(tmp_path: Path) -> None:
    staged = istv.parse([write(tmp_path / "extract.csv", extract_rows())], SOURCE, small_geo())
    ind = staged.indicators.set_index("indicator_id")
    assert set(ind.index) == {"istv_assault_attendances", "istv_knife_sharp_attendances"}
    assert ind["is_health_source"].all() and set(ind["geography_level"]) == {"csp"}
    assert set(ind["family"]) == {"ae_assault"}
    # exact small counts are kept (1s and 2s): suppression happens at display
    assert staged.observations["suppressed_reason"].isna().all()
    assert 1 in set(staged.observations["count"])


def _bad(rows_index: int, **fields: str) -> list[dict]:
    rows = extract_rows()
    rows[rows_index] = {**rows[rows_index], **fields}
    return rows


BAD_INPUTS = {  # case -> (rows, row, column)
    "bad_date": (_bad(1, reporting_period_start="01/04/2023"), 3, "reporting_period_start"),
    "period_not_whole_month": (_bad(0, reporting_period_end="2023-05-30"), 2,
                               "reporting_period_end"),
    "bad_arrival": (_bad(2, arrival_datetime="2023-04-07"), 4, "arrival_datetime"),
    "impossible_time": (_bad(2, assault_datetime="2023-04-31 01:00"), 4, "assault_datetime"),
    "arrival_outside_period": (_bad(3, arrival_datetime="2023-06-01 00:10"), 5,
                               "arrival_datetime"),
    "csp_not_in_geo": (_bad(4, csp_code="E22000099"), 6, "csp_code"),
    "csp_malformed": (_bad(4, csp_code="E06000001"), 6, "csp_code"),
    "age_band": (_bad(5, age_band="18-25"), 7, "age_band"),
    "sex": (_bad(6, sex="M"), 8, "sex"),
    "missing_site": (_bad(7, ed_site_code=""), 9, "ed_site_code"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_values_raise_source_error_naming_row_and_column(tmp_path: Path, case: str) -> None:
    rows, row_no, column = BAD_INPUTS[case]
    path = write(tmp_path / f"{case}.csv", rows)
    with pytest.raises(SourceError) as caught:
        istv.parse([path], SOURCE, small_geo())
    err = caught.value
    assert path.name in str(err) and f"row {row_no}" in str(err) and repr(column) in str(err)
    assert (err.row, err.column) == (row_no, column)


def test_bad_files_raise_source_error(tmp_path: Path) -> None:
    geo = small_geo()
    missing = tmp_path / "missing.csv"
    write(missing, extract_rows())
    text = missing.read_text().replace("age_band", "ageband", 1)
    missing.write_text(text)
    truncated = write(tmp_path / "truncated.csv", extract_rows())
    lines = truncated.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:5])
    truncated.write_text("\n".join(lines) + "\n")
    latin = write(tmp_path / "latin.csv", _bad(2, ed_site_name="Hôpital"), encoding="latin-1")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    cases = {missing: (1, "age_band"), truncated: (3, None), latin: (4, None),
             empty: (None, None)}
    for path, (row_no, column) in cases.items():
        with pytest.raises(SourceError) as caught:
            istv.parse([path], SOURCE, geo)
        assert path.name in str(caught.value)
        assert (caught.value.row, caught.value.column) == (row_no, column), path.name


def test_header_only_file_gives_no_observations(tmp_path: Path) -> None:
    staged = istv.parse([write(tmp_path / "none.csv", [])], SOURCE, small_geo())
    assert staged.observations.empty and staged.tables["istv_counts"].empty


def test_method_map_is_validated(tmp_path: Path) -> None:
    bad_map = tmp_path / "map.csv"
    bad_map.write_text("raw_value,category,description\nKnife,knife,typo\n")
    with pytest.raises(SourceError) as caught:
        istv.parse([write(tmp_path / "extract.csv", extract_rows())], SOURCE, small_geo(),
                   method_map=bad_map)
    assert (caught.value.row, caught.value.column) == (2, "category")
    assert "map.csv" in str(caught.value)


def test_partnership_map_extension_changes_category(tmp_path: Path) -> None:
    custom = tmp_path / "map.csv"
    custom.write_text(istv.METHOD_MAP_PATH.read_text() + "Vehicle,other,Struck by a vehicle\n")
    staged = istv.parse([write(tmp_path / "extract.csv", extract_rows())], SOURCE, small_geo(),
                        method_map=custom)
    counts = staged.tables["istv_counts"]
    other = counts[(counts["dimension"] == "weapon") & (counts["category"] == "other")]
    assert other["count"].sum() == 1
    assert "method_unmapped" not in set(staged.tables["istv_data_checks"]["check"])


def test_synthetic_sidecar_marks_every_value_and_mixing_is_refused(tmp_path: Path) -> None:
    generated = write(tmp_path / "generated.csv", extract_rows())
    write_sidecar(generated, generator="test", name="istv", description="test")
    staged = istv.parse([generated], SOURCE, small_geo())
    assert set(staged.observations["quality"]) == {"synthetic"}
    assert set(staged.tables["istv_counts"]["quality"]) == {"synthetic"}
    real = write(tmp_path / "real.csv", extract_rows())
    assert set(istv.parse([real], SOURCE, small_geo()).observations["quality"]) == {"official"}
    with pytest.raises(SourceError, match="synthetic and real"):
        istv.parse([generated, real], replace(SOURCE), small_geo())


def test_nil_return_makes_a_month_zero_not_missing(tmp_path: Path) -> None:
    nil = {c: "" for c in istv.LAYOUT_COLUMNS}
    nil.update(reporting_period_start="2023-06-01", reporting_period_end="2023-06-30",
               ed_site_code="RXX01", csp_code="E22000002")
    staged = istv.parse([write(tmp_path / "extract.csv", [*extract_rows(), nil])], SOURCE,
                        small_geo())
    obs = staged.observations.set_index(["indicator_id", "area_code", "period_label"])
    assert obs.loc[("istv_assault_attendances", "E22000002", "2023-06"), "count"] == 0
    assert ("istv_assault_attendances", "E22000001", "2023-06") not in obs.index
    half_nil = {**nil, "age_band": "18-24"}  # an attendance row without its arrival time
    with pytest.raises(SourceError) as caught:
        istv.parse([write(tmp_path / "bad.csv", [half_nil])], SOURCE, small_geo())
    assert (caught.value.row, caught.value.column) == (2, "arrival_datetime")


def test_reading_in_chunks_gives_the_same_result_and_deduplicates_across_chunks(
        tmp_path: Path, monkeypatch) -> None:
    """Rows 4 and 5 are identical and fall in different chunks when chunks hold 2 rows."""
    path = write(tmp_path / "extract.csv", extract_rows())
    whole = istv.parse([path], SOURCE, small_geo())
    monkeypatch.setattr(istv, "CHUNK_ROWS", 2)
    chunked = istv.parse([path], SOURCE, small_geo())
    pd.testing.assert_frame_equal(chunked.tables["istv_counts"], whole.tables["istv_counts"])
    pd.testing.assert_frame_equal(chunked.tables["istv_data_checks"], whole.tables["istv_data_checks"])
    got = {k: v for k, v in chunked.tables["istv_counts"].assign(
        month=lambda d: d["month"].dt.strftime("%Y-%m-01")).set_index(
        ["csp_code", "month", "dimension", "category"])["count"].items() if v}
    assert got == dict(expected_counts(extract_rows()))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("reporting_period_start", "1900-01-01", r"before the series began \(2014-01-01\)"),
    ("reporting_period_start", "0001-01-01", "before the series began"),
    ("reporting_period_end", "2099-12-31", "after the current month"),
    ("arrival_datetime", "2099-05-01 10:00", "is in the future"),
    ("assault_datetime", "2099-05-01 09:00", "is in the future"),
])
def test_implausible_dates_are_refused_with_row_and_column(tmp_path: Path, field, value, message) -> None:
    rows = extract_rows()
    rows[2] = {**rows[2], field: value}  # file line 4
    if field == "reporting_period_start":
        rows[2]["arrival_datetime"] = rows[2]["assault_datetime"] = ""
    with pytest.raises(SourceError, match=message) as caught:
        istv.parse([write(tmp_path / "x.csv", rows)], SOURCE, small_geo())
    assert (caught.value.row, caught.value.column, caught.value.file) == (4, field, str(tmp_path / "x.csv"))


def test_field_over_the_csv_limit_is_a_clear_error(tmp_path: Path) -> None:
    rows = extract_rows()
    rows[1] = {**rows[1], "assault_location_description": "x" * (128 * 1024 + 10)}  # line 3
    with pytest.raises(SourceError, match="a field longer than 131,072 characters") as caught:
        istv.parse([write(tmp_path / "x.csv", rows)], SOURCE, small_geo())
    assert caught.value.row == 3


def test_line_over_the_line_limit_is_refused_before_it_is_held(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(istv, "MAX_LINE_BYTES", 1000)
    rows = extract_rows()
    rows[1] = {**rows[1], "assault_location_description": "x" * 2000}
    with pytest.raises(SourceError, match="line longer than 1,000 bytes") as caught:
        istv.parse([write(tmp_path / "x.csv", rows)], SOURCE, small_geo())
    assert caught.value.row == 3


def test_huge_header_and_repeated_column_are_clear_errors(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(istv.LAYOUT_COLUMNS + [f"c{i}" for i in range(120_000)]) + "\n")
    with pytest.raises(SourceError, match="120,013 columns, more than the 1,000") as caught:
        istv.parse([wide], SOURCE, small_geo())
    assert caught.value.row == 1
    repeated = tmp_path / "repeated.csv"
    repeated.write_text(",".join(istv.LAYOUT_COLUMNS + ["extra", "sex", "extra"]) + "\n")
    with pytest.raises(SourceError, match="column 'sex' appears 2 times") as caught:
        istv.parse([repeated], SOURCE, small_geo())
    assert (caught.value.row, caught.value.column) == (1, "sex")
