"""police.uk aggregation on the real mirror, checked against counts made with the csv module."""
from __future__ import annotations

import csv
import gzip
from collections import Counter

import pytest

from etl.manifest import source_by_id
from etl.parsers import police_uk


@pytest.fixture(scope="module")
def staged(mirror, real_geo):
    files = sorted(mirror.glob("police_uk/*/*-street.csv*"))
    return police_uk.parse(files, source_by_id("police_uk_street"), real_geo)


def raw_counts(path):
    with gzip.open(path, "rt", newline="") as fh:
        return Counter(r["Crime type"] for r in csv.DictReader(fh))


def test_force_month_totals_equal_raw_file_counts(staged, mirror):
    obs = staged.observations.set_index(["indicator_id", "area_code", "period_label"])["count"]
    for month, slug, pfa in (("2018-10", "thames-valley", "E23000029"), ("2024-03", "kent", "E23000032")):
        raw = raw_counts(mirror / f"police_uk/{month}/{month}-{slug}-street.csv.gz")
        for crime_type, ind in police_uk.CRIME_TYPES.items():
            assert obs[(ind, pfa, month)] == raw[crime_type], (month, slug, crime_type)


@pytest.fixture(scope="module")
def raw_by_file(mirror):
    """{file name: Counter of crime types} for every street file, counted with the csv module."""
    return {path.name: raw_counts(path) for path in sorted(mirror.glob("police_uk/*/*-street.csv.gz"))}


def test_every_record_is_accounted_for(staged, raw_by_file):
    rec = staged.tables["police_uk_reconciliation"]
    total = rec["n"].sum()
    raw = sum(c[t] for c in raw_by_file.values() for t in police_uk.CRIME_TYPES)
    assert total == raw


def test_every_row_of_every_file_is_read(staged, raw_by_file):
    """Per file, the rows DuckDB read (all crime types) equal the csv module's count: the files
    are read as lists by one read_csv per batch, a way DuckDB has been seen to skip files."""
    files = staged.tables["police_uk_files"]
    got = dict(zip(files["file_name"], files["rows"].astype(int), strict=True))
    want = {name: sum(c.values()) for name, c in raw_by_file.items()}
    assert len(want) == 318 and sum(want.values()) == 2_675_581  # the mirror's files and records (zcat | wc -l)
    assert got == want


def test_csps_plus_unplaced_equal_force_total(staged):
    """Sum of a force's CSPs + the records it could not place in them = the force's total."""
    o = staged.observations
    rec = staged.tables["police_uk_reconciliation"]
    cov = staged.tables["police_uk_coverage"]
    present = cov[cov.status == "present"]
    for _, row in present.sample(10, random_state=1).iterrows():
        r = rec[(rec.force == row.force) & (rec.month == row.month)]
        force_total = o[(o.area_code == row.pfa_code) & (o.period_label == row.month)]["count"].sum()
        assert r["n"].sum() == force_total
        placed = r.loc[r.status == "placed in a CSP", "n"].sum()
        assert placed <= force_total


def test_missing_and_partial_months_are_not_zero(staged):
    o = staged.observations
    # Metropolitan Police has no file in the mirror: no value at all, not zero
    assert o[o.area_code == "E23000001"].empty
    cov = staged.tables["police_uk_coverage"].set_index(["force", "month"])["status"]
    assert cov[("metropolitan", "2024-01")] == "missing"
    assert cov[("dyfed-powys", "2024-03")] == "partial"
    assert o[(o.area_code == "W15000004") & (o.period_label == "2024-03")].empty
    ew = o[(o.area_code == "K04000001") & (o.period_label == "2024-03")]
    assert len(ew) > 0, "nothing to check: an empty result must not pass"
    assert ew["note"].str.contains("Dyfed-Powys").all() and ew["note"].str.contains("Metropolitan").all()


def test_old_district_names_reach_their_csp_in_2024(staged):
    o = staged.observations
    aylesbury = o[(o.area_code == "E22000303") & (o.period_label == "2024-01")]
    assert len(aylesbury) == 4 and aylesbury["count"].sum() > 0
    assert aylesbury["value"].isna().all()  # no population for a CSP inside a split authority


def test_no_real_month_is_held_back_and_every_force_has_residents(staged, real_geo):
    """The 'implausible' rule holds back none of the mirror's months (its highest is 2.3x the
    force's other months), and the population rule is live: every territorial force in the grid
    has a resident count to be judged against (None would silently skip it)."""
    cov = staged.tables["police_uk_coverage"]
    assert (cov["status"] == "implausible").sum() == 0
    pfas = sorted(cov["pfa_code"].dropna().unique())
    assert len(pfas) >= 40, pfas  # 43 territorial forces in England & Wales, with or without a file
    for pfa in pfas:
        persons, _year = real_geo.population_for(pfa, 2024)
        assert persons is not None and persons > 5_000, pfa  # the City of London has ~8,600 residents
