"""A small source mirror made by code, in the publishers' layouts.

The ONS geography, population, knife and national files are small and are linked from the real
mirror unchanged; police.uk is replaced by a handful of generated street files whose every count
is known, so the tests can check the aggregation exactly.
"""
from __future__ import annotations

import csv
import gzip
import io
import shutil
from pathlib import Path

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
SMALL_REAL = ["geography/LAD17_CSP17_PFA17_EW_LU_ONS.csv", "geography/lad_to_csp.csv",
              "geography/LAD_Dec2022_UK_BUC.geojson",
              "population/ukpopestimatesmid2020on2021geography.xlsx",
              "population/ukpopestimatesmid2021on2021geographyfinal.xlsx",
              "knife_crime/knifecrime_pfa_quarterly.csv", "national/national_figures.csv", "MANIFEST.md"]
SMALL_REAL.append("drug_deaths/drug_poisoning_registrations_by_LA.csv")
SMALL_REAL.append("national/national_figures_origin.csv")

# (force slug, force name, month) -> rows of (lsoa code, lsoa name, crime type, how many)
STREET = {
    ("thames-valley", "Thames Valley Police", "2018-10"): [
        ("E01028521", "Oxford 001A", "Possession of weapons", 3),
        ("E01028521", "Oxford 001A", "Robbery", 2),
        ("E01017648", "Aylesbury Vale 012B", "Possession of weapons", 4),
        ("E01016252", "Bracknell Forest 001C", "Drugs", 5),
        ("", "", "Possession of weapons", 1),  # no location
        ("E01099999", "Nowhere Special 001A", "Robbery", 1),  # name matches no LAD
        ("E01022222", "Canterbury 001A", "Possession of weapons", 2),  # outside the force
        ("E01028521", "Oxford 001A", "Burglary", 7),  # not one of the four types
    ],
    ("thames-valley", "Thames Valley Police", "2024-01"): [
        ("E01028521", "Oxford 001A", "Possession of weapons", 6),
        ("E01017648", "Buckinghamshire 012B", "Possession of weapons", 2),  # old name seen in 2018
        ("E01017700", "Buckinghamshire 050A", "Possession of weapons", 3),  # never seen with old name
    ],
    ("kent", "Kent Police", "2018-10"): [
        ("E01022222", "Canterbury 001A", "Possession of weapons", 5),
        ("E01022222", "Canterbury 001A", "Violence and sexual offences", 40),
    ],
    ("btp", "British Transport Police", "2018-10"): [
        ("E01028521", "Oxford 001A", "Possession of weapons", 2),
    ],
}


def street_csv(force_name: str, month: str, rows: list[tuple[str, str, str, int]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(HEADER)
    n = 0
    for code, name, crime_type, k in rows:
        for _ in range(k):
            n += 1
            crime_id = "" if crime_type == "Anti-social behaviour" else f"{month}-{force_name[:3]}-{n:06d}"
            w.writerow([crime_id, month, force_name, force_name, "-1.25" if code else "", "51.75" if code else "",
                        "On or near High Street, Somewhere" if code else "No location", code, name, crime_type,
                        "Under investigation", ""])
    return out.getvalue().encode()


def write_street(folder: Path, slug: str, force_name: str, month: str, rows) -> Path:
    path = folder / "police_uk" / month / f"{month}-{slug}-street.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(street_csv(force_name, month, rows), mtime=0))
    return path


def build_fixture_mirror(real: Path, folder: Path) -> Path:
    """Write the fixture mirror into `folder` (copies of the small real files + generated police.uk)."""
    for rel in SMALL_REAL:
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / rel, dest)
    for (slug, name, month), rows in STREET.items():
        write_street(folder, slug, name, month, rows)
    return folder
