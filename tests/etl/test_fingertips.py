"""Fingertips export parser: values, suppression, de-duplication, skipped areas, bad input."""
from __future__ import annotations

import csv
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import Source
from etl.parsers import fingertips
from etl.synthetic.sidecar import write_sidecar
from tests.small_geo import ENGLAND, NORTH_EAST, TEES_CSPS, TEES_LAD_CSP, TEES_LADS, make_geo

SUPPRESSED = "Value suppressed for disclosure control due to small count"
VIOLENCE = Source(id="fingertips_violence_admissions", family="ae_assault", publisher="OHID",
                  title="t", url="", licence="OGL", attribution="a", format="csv",
                  cadence="annual", mirror="fingertips/violence_admissions*.csv",
                  parser="fingertips", quality="official")
DRUGS = replace(VIOLENCE, id="fingertips_drug_treatment", family="drug_treatment")


def small_geo() -> GeoContext:
    """Two LADs in one region, England, and (irrelevant here) their CSPs."""
    return make_geo([*TEES_LADS, NORTH_EAST, ENGLAND, *TEES_CSPS],
                    [("E06000001", "E12000001", "lad", "region"), ("E06000002", "E12000001", "lad", "region"),
                     *TEES_LAD_CSP],
                    [("E06000001", 2021, "all", 92_000.0)], source_id="ons_mye_2021")


def header(parent_column: str = "Compared to Region value or percentiles") -> list[str]:
    names = list(fingertips.EXPORT_COLUMNS)
    names[fingertips.PARENT_COLUMN_POSITION] = parent_column
    return names


def row(**fields: str) -> dict:
    base = dict.fromkeys(fingertips.EXPORT_COLUMNS, "")
    base.update({"Indicator ID": "11201",
                 "Indicator Name": "Hospital admissions for violence (including sexual violence)",
                 "Sex": "Persons", "Age": "All ages", "Time period": "2020/21 - 22/23",
                 "Time period Sortable": "20200000", "Time period range": "3y"})
    base.update(fields)
    return base


def area(code: str, name: str, area_type: str, value: str, low: str, high: str, count: str,
         parent: str = "", **extra: str) -> dict:
    return row(**{"Area Code": code, "Area Name": name, "Area Type": area_type,
                  "Parent Code": parent, "Value": value, "Lower CI 95.0 limit": low,
                  "Upper CI 95.0 limit": high, "Count": count, **extra})


def write(path: Path, rows: list[dict], names: list[str] | None = None,
          encoding: str = "utf-8-sig") -> Path:
    names = names or header()
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for r in rows:
            writer.writerow([r[c] for c in fingertips.EXPORT_COLUMNS])
    return path


def violence_rows() -> list[dict]:
    lad = "Districts & UAs (from Apr 2023)"
    return [
        area("E92000001", "England", "England", "40.1", "39.5", "40.7", "20512"),        # line 2
        area("E12000001", "North East", "Region", "55.2", "53.0", "57.5", "2301",
             parent="E92000001"),                                                         # 3
        area("E06000001", "Hartlepool", lad, "60.5", "55.0", "66.4", "171",
             parent="E12000001"),                                                         # 4
        area("E06000001", "Hartlepool", lad, "60.5", "55.0", "66.4", "171"),               # 5
        area("E06000002", "Middlesbrough", lad, "", "", "", "", parent="E12000001",
             **{"Value note": SUPPRESSED}),                                               # 6
        area("E10000002", "Buckinghamshire CC", "Counties & UAs (from Apr 2023)", "30.0",
             "28.0", "32.0", "400", parent="E12000008"),                                  # 7
        area("E06000099", "New unitary", lad, "42.0", "40.0", "44.0", "300",
             parent="E12000001"),                                                         # 8
    ]


def test_values_suppression_dedup_and_skipped_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "violence_admissions.csv", violence_rows())
    staged = fingertips.parse([path], VIOLENCE, small_geo())
    obs = staged.observations.set_index("area_code")

    assert sorted(obs.index) == ["E06000001", "E06000002", "E12000001", "E92000001"]
    assert set(obs["indicator_id"]) == {"fingertips_11201_persons_all"}
    hartlepool = obs.loc["E06000001"]
    assert (hartlepool["value"], hartlepool["lower_ci"], hartlepool["upper_ci"]) == (60.5, 55.0, 66.4)
    assert hartlepool["count"] == 171
    assert hartlepool["period_start"] == pd.Timestamp("2020-04-01")
    assert hartlepool["period_end"] == pd.Timestamp("2023-03-31")
    assert hartlepool["period_type"] == "pooled_financial_years"
    assert hartlepool["period_label"] == "2020/21 - 22/23"
    assert "time period range 3y" in hartlepool["note"]
    suppressed = obs.loc["E06000002"]
    assert pd.isna(suppressed["value"]) and pd.isna(suppressed["count"])  # missing, never zero
    assert suppressed["suppressed_reason"] == SUPPRESSED
    assert obs["suppressed_reason"].isna().sum() == 3
    assert set(obs["quality"]) == {"official"}

    skipped = staged.tables["skipped_rows"]
    assert list(skipped.columns) == ["source_id", "file", "reason", "rows"]
    by_reason = dict(zip(skipped["reason"], skipped["rows"]))
    # A county (E10) is an upper-tier authority the geography can hold; this small one does not.
    assert by_reason["area code not in the geography lookup: Counties & UAs (from Apr 2023)"] == 1
    assert by_reason["area code not in the geography lookup: Districts & UAs (from Apr 2023)"] == 1
    assert by_reason[fingertips.DUPLICATE_REASON] == 1
    assert skipped["rows"].sum() + len(obs) == len(violence_rows())

    ind = staged.indicators.iloc[0]
    assert ind["indicator_id"] == "fingertips_11201_persons_all"
    assert ind["family"] == "ae_assault" and ind["polarity"] == "higher_is_worse"
    assert ind["unit"] == "DSR per 100,000" and bool(ind["is_health_source"])
    assert ind["title"] == "Hospital admissions for violence (including sexual violence)"
    assert ind["geography_level"] == "lad"
    assert staged.files[0]["rows"] == len(violence_rows())


def test_23rd_column_is_selected_by_position(tmp_path: Path) -> None:
    names = header("Compared to Counties & UAs (from Apr 2023) value or percentiles")
    path = write(tmp_path / "violence_admissions.csv", violence_rows()[:3], names=names)
    assert len(fingertips.parse([path], VIOLENCE, small_geo()).observations) == 3


def test_drug_treatment_indicators(tmp_path: Path) -> None:
    completion = "Successful completion of drug treatment - opiate users"
    rows = [area("E92000001", "England", "England", "5.1", "5.0", "5.2", "6500",
                 **{"Indicator ID": "90244", "Indicator Name": completion, "Age": "18+ yrs",
                    "Time period": "2022/23", "Denominator": "127450",
                    "Time period range": "1y"}),
            area("E92000001", "England", "England", "145000", "", "", "145000",
                 **{"Indicator ID": "99001", "Indicator Name": "Adults in drug treatment",
                    "Age": "18+ yrs", "Time period": "2022/23"})]
    staged = fingertips.parse([write(tmp_path / "drug_treatment.csv", rows)], DRUGS, small_geo())
    ind = staged.indicators.set_index("indicator_id")
    assert ind.loc["fingertips_90244_persons_18plus", "polarity"] == "higher_is_better"
    assert ind.loc["fingertips_90244_persons_18plus", "unit"] == "%"
    assert ind.loc["fingertips_99001_persons_18plus", "unit"] == "adults in treatment"
    assert set(ind["family"]) == {"drug_treatment"}
    obs = staged.observations.set_index("indicator_id")
    assert obs.loc["fingertips_90244_persons_18plus", "denominator"] == 127450
    assert obs.loc["fingertips_90244_persons_18plus", "period_start"] == pd.Timestamp("2022-04-01")


def _with(index: int, **fields: str) -> list[dict]:
    rows = violence_rows()
    rows[index] = {**rows[index], **fields}
    return rows


def _bad_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / f"bad_{case}.csv"
    if case == "missing_column":
        names = [n for n in header() if n != "Count"]
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(names)
            for r in violence_rows():
                writer.writerow([v for c, v in r.items() if c != "Count"])
        return path
    if case == "renamed_column":
        return write(path, violence_rows(), names=[("Values" if n == "Value" else n)
                                                   for n in header()])
    if case == "non_numeric_value":
        return write(path, _with(1, Value="55,2a"))
    if case == "duplicate_conflict":
        return write(path, _with(3, Value="61.0"))
    if case == "malformed_code":
        return write(path, _with(2, **{"Area Code": "E0600001"}))
    if case == "bad_period":
        return write(path, _with(2, **{"Time period": "sometime"}))
    if case == "empty":
        path.write_bytes(b"")
        return path
    if case == "header_only":
        return write(path, [])
    if case == "truncated_row":
        write(path, violence_rows())
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        lines[3] = lines[3][: len(lines[3]) // 3]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
        return path
    if case == "wrong_encoding":
        return write(path, _with(3, **{"Area Name": "Hartlepool Café"}), encoding="cp1252")
    raise AssertionError(case)


BAD_INPUTS = {  # case -> (row, column) the error must name; None = not applicable
    "missing_column": (1, "Count"),
    "renamed_column": (1, "Value"),
    "non_numeric_value": (3, "Value"),
    "duplicate_conflict": (5, "Value"),
    "malformed_code": (4, "Area Code"),
    "bad_period": (4, "Time period"),
    "empty": (None, None),
    "header_only": (None, None),
    "truncated_row": (4, None),
    "wrong_encoding": (5, None),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_source_error_naming_place(tmp_path: Path, case: str) -> None:
    path = _bad_file(tmp_path, case)
    with pytest.raises(SourceError) as caught:
        fingertips.parse([path], VIOLENCE, small_geo())
    err, (row_no, column) = caught.value, BAD_INPUTS[case]
    assert path.name in str(err)
    assert err.row == row_no
    if row_no is not None:
        assert f"row {row_no}" in str(err)
    if column is not None:
        assert err.column == column and repr(column) in str(err)
    if case == "duplicate_conflict":
        assert "rows 4, 5" in str(err)
    if case == "empty":
        assert "empty" in str(err)


def test_sidecar_marks_synthetic_and_a_stale_sidecar_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "violence_admissions.csv", violence_rows())
    write_sidecar(path, generator="test", name="fingertips_violence", description="test")
    staged = fingertips.parse([path], VIOLENCE, small_geo())
    assert set(staged.observations["quality"]) == {"synthetic"}
    write(path, _with(0, Value="40.2"))  # a real file replacing the generated one
    with pytest.raises(SourceError, match="sidecar"):
        fingertips.parse([path], VIOLENCE, small_geo())
