"""Short force-months found from the force's own neighbouring months, and LSOA names placed
whatever the publisher's spelling of the district. Expected values worked out by hand below."""
from __future__ import annotations

import pandas as pd
import pytest

from etl.parsers import police_uk
from etl.parsers.police_uk import district_key, short_months

# Kent's violence and sexual offences records per month, counted from the raw files
# (zcat 2018-1?-kent-street.csv.gz | grep -c 'Violence and sexual offences').
KENT_VIOLENCE = {"2018-10": 7699, "2018-11": 5037, "2018-12": 2484, "2019-01": 7133, "2019-02": 5905,
                 "2024-01": 5973, "2024-02": 5615, "2024-03": 6341}


def test_kent_late_2018_is_short_and_the_rest_is_not():
    got = short_months({"Violence and sexual offences": KENT_VIOLENCE})
    assert set(got) == {"2018-11", "2018-12"}
    # 2018-12 first: per-day counts of its 4 nearest months 5037/30, 7133/31, 7699/31, 5905/28
    # = 167.9, 230.1, 248.4, 210.9; median 220.5 x 31 days = 6,835; 2484 / 6835 = 36%.
    assert "2,484 against 6,835" in got["2018-12"] and "(36%)" in got["2018-12"]
    # then 2018-11 without 2018-12: median of 230.1, 248.4, 210.9 = 230.1 x 30 = 6,903 -> 73%.
    assert "5,037 against 6,903" in got["2018-11"] and "(73%)" in got["2018-11"]


def test_a_run_of_short_months_is_judged_against_the_months_before_it():
    # Dyfed-Powys-like: a full year, then three short months in a row.
    series = {f"2023-{m:02d}": 3000 * pd.Period(f"2023-{m:02d}").days_in_month / 30 for m in range(4, 13)}
    series |= {"2024-01": 1187, "2024-02": 300, "2024-03": 164}
    assert set(short_months({"all records": series})) == {"2024-01", "2024-02", "2024-03"}


def test_ordinary_variation_and_small_series_are_not_short():
    # 20% below neighbours is within what complete files do; a small series may halve by chance.
    big = {"2019-01": 1000, "2019-02": 1000 * 28 / 31, "2019-03": 800, "2019-04": 1000 * 30 / 31}
    small = {"2019-01": 60, "2019-02": 55, "2019-03": 20, "2019-04": 58}
    assert short_months({"all records": big, "Robbery": small}) == {}


def test_too_few_months_are_not_judged():
    assert short_months({"all records": {"2019-01": 5000, "2019-02": 100}}) == {}


@pytest.mark.parametrize(("lsoa_district", "lad_name"), [
    ("The Vale of Glamorgan", "Vale of Glamorgan"),
    ("Bath and North East Somerset", "Bath & North East Somerset"),
    ("Bristol, City of", "Bristol"),
    ("Rhondda Cynon Taf", "RHONDDA CYNON TAF"),
])
def test_publisher_spellings_of_a_district_match_the_lookup(lsoa_district, lad_name):
    assert district_key(lsoa_district) == district_key(lad_name)


def test_the_is_only_dropped_as_a_leading_word():
    assert district_key("Theydon Bois") == "theydon bois"


def test_vale_of_glamorgan_records_are_placed(mirror, real_geo):
    """Vale of Glamorgan violence, November 2018: police.uk names its LSOAs 'The Vale of
    Glamorgan 0xxA'. 273 records in the raw South Wales file (all placed in the CSP now)."""
    import csv
    import gzip

    from etl.manifest import source_by_id

    path = mirror / "police_uk/2018-11/2018-11-south-wales-street.csv.gz"
    with gzip.open(path, "rt", newline="") as fh:
        raw = sum(1 for r in csv.DictReader(fh) if r["Crime type"] == "Violence and sexual offences"
                  and r["LSOA name"].replace("The ", "", 1).startswith("Vale of Glamorgan "))
    assert raw == 273
    staged = police_uk.parse(sorted(mirror.glob("police_uk/2018-1*/*-street.csv.gz"))
                             + sorted(mirror.glob("police_uk/2019-0*/*-street.csv.gz")),
                             source_by_id("police_uk_street"), real_geo)
    vale = staged.observations[(staged.observations["area_code"] == "W14000014")
                               & (staged.observations["indicator_id"] == "police_uk_violence_and_sexual_offences")
                               & (staged.observations["period_label"] == "2018-11")]
    assert vale["count"].tolist() == [273.0]
    placement = staged.tables["police_uk_lsoa_placement"]
    the = placement[placement["lsoa_name"].str.startswith("The ", na=False)]
    assert len(the) > 0, "nothing to check: an empty result must not pass"
    assert the["reason"].isna().all()


def test_police_activity_offences_carry_no_better_or_worse_judgement():
    """Drugs and possession of weapons are mostly found by police activity: no polarity."""
    from etl.parsers.police_uk import _indicators

    pol = dict(zip(_indicators()["indicator_id"], _indicators()["polarity"], strict=True))
    assert pol == {"police_uk_possession_of_weapons": "none", "police_uk_drugs": "none",
                   "police_uk_violence_and_sexual_offences": "higher_is_worse",
                   "police_uk_robbery": "higher_is_worse"}


def test_a_run_of_four_short_months_stays_short_when_a_new_month_is_as_short():
    # Dyfed-Powys's records per file (zcat ...dyfed-powys-street.csv.gz | wc -l, minus the
    # header): 2018-10..2019-02 then 2024-01..03, plus a new month 2024-04 as short as 2024-03.
    # Each 2024 month's near neighbours were all short, so the whole run became 'present'.
    series = {"2018-10": 3415, "2018-11": 3137, "2018-12": 3163, "2019-01": 3276, "2019-02": 3129,
              "2024-01": 1187, "2024-02": 300, "2024-03": 164, "2024-04": 164}
    got = short_months({"all records": series})
    assert set(got) == {"2024-01", "2024-02", "2024-03", "2024-04"}
    # 2024-03 first: other months per day 110.16, 104.57, 102.03, 105.68, 111.75, 38.29, 10.34,
    # 5.47; median (102.03 + 104.57) / 2 = 103.30 x 31 days = 3,202; 164 / 3,202 = 5%.
    assert "164 against 3,202 expected from the force's other months (5%)" in got["2024-03"]
