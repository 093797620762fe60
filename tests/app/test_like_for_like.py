"""Every police.uk comparison the area profile makes, recomputed from the raw files.

Independent of the app and etl code: the street files are read with pandas, records are placed
with the ONS LAD -> CSP lookups (the LSOA name's district part, spelled as police.uk spells it,
matched to the lookup's LAD name; an LSOA code seen elsewhere in the mirror with a pre-2019
district name reaches that district's CSP), a force-month is complete when its file has at
least half the records of the force's median file, rates use the ONS mid-year population of
the nearest year in the warehouse's population table (data, not code), and the expected verdicts
come from exact Poisson limits (tests/poisson_verdict; both verdicts accepted only within Byar's
published 0.2% accuracy of a limit, and such cases must be under 1%). The like-for-like
benchmark of a CSP figure is the sum of records placed in CSPs (with a population) of forces
with a complete month, over those CSPs' population.

Then the profile's comparisons (England & Wales, Wales, the force) for every CSP in 2018-10 and
2024-03 must agree, and the profile, Compare, the map and the CSV downloads must give one
category per area for one indicator and period.
"""
from __future__ import annotations

import math
import re
from io import StringIO
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.poisson_verdict import verdicts

MONTHS = ("2018-10", "2024-03")
TYPES = {"Possession of weapons": "police_uk_possession_of_weapons",
         "Violence and sexual offences": "police_uk_violence_and_sexual_offences",
         "Robbery": "police_uk_robbery", "Drugs": "police_uk_drugs"}
EW, WALES = "K04000001", "W92000004"


def _key(name: str) -> str:
    text = re.sub(r",\s*(city|county) of$", "", str(name).strip().lower().replace("&", "and"))
    text = " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())
    return text[4:] if text.startswith("the ") else text


def _slug(force_name: str) -> str:
    s = re.sub(r"[^a-z]+", "-", force_name.strip().lower().replace("&", "and")).strip("-")
    return {"london-city-of": "city-of-london", "metropolitan-police": "metropolitan"}.get(s, s)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, usecols=["LSOA code", "LSOA name", "Crime type"], dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def expected(mirror: Path, real_warehouse: Path) -> dict:
    """Independently computed CSP figures and like-for-like benchmarks for MONTHS."""
    l21 = pd.read_csv(mirror / "geography/lad_to_csp.csv", sep=";", dtype=str)
    l17 = pd.read_csv(mirror / "geography/LAD17_CSP17_PFA17_EW_LU_ONS.csv", dtype=str, encoding="utf-8-sig")
    csp21 = l21.groupby(l21["lad-name"].map(_key))["csp-code"].agg(lambda s: sorted(set(s)))
    csp17 = dict(zip(l17["LAD17NM"].map(_key), l17["CSP17CD"]))
    csp_pfa = dict(zip(l21["csp-code"], l21["PFA21CD"].str.strip())) | dict(zip(l17["CSP17CD"], l17["PFA17CD"]))
    pfa_of_slug = dict(zip(l21["PFA21NM"].map(_slug), l21["PFA21CD"].str.strip()))

    # every (LSOA code, district) in the mirror, for codes seen with an old district name
    files = sorted(mirror.glob("police_uk/*/*-street.csv*"))
    seen = pd.concat([_read(f)[["LSOA code", "LSOA name"]].drop_duplicates() for f in files])
    seen["district"] = seen["LSOA name"].str.replace(r" \d{3}[A-Z]$", "", regex=True).map(_key)
    old_csp = (seen[seen["district"].isin(csp17.keys())].drop_duplicates("LSOA code")
               .set_index("LSOA code")["district"].map(csp17))

    def place(code: str, name: str) -> str | None:
        if not code:
            return None
        district = _key(re.sub(r" \d{3}[A-Z]$", "", name))
        if len(csp21.get(district, [])) == 1:
            return csp21[district][0]
        if district in csp17:
            return csp17[district]
        return old_csp.get(code)

    sizes: dict[str, dict[str, int]] = {}
    per_month = {}
    for f in files:
        month, slug = re.match(r"(\d{4}-\d{2})-(.+)-street", f.name).groups()
        if slug not in pfa_of_slug:
            continue  # British Transport Police: in no area
        df = _read(f)
        sizes.setdefault(slug, {})[month] = len(df)
        if month in MONTHS:
            per_month[(month, slug)] = df[df["Crime type"].isin(TYPES)]

    con = duckdb.connect(str(real_warehouse), read_only=True)
    pop = con.execute("SELECT area_code, year, persons FROM population WHERE age_band = 'all' AND sex = 'persons'").df()
    con.close()
    pop_years = pop.groupby("area_code").apply(lambda g: dict(zip(g["year"], g["persons"])), include_groups=False)

    def population(code: str, year: int) -> float | None:
        years = pop_years.get(code)
        if not years:
            return None
        return years[min(years, key=lambda y: (abs(y - year), y))]

    figures, complete = [], {}
    for (month, slug), df in per_month.items():
        median = sorted(sizes[slug].values())[len(sizes[slug]) // 2]
        pfa = pfa_of_slug[slug]
        complete[(month, pfa)] = sizes[slug][month] >= 0.5 * median
        if not complete[(month, pfa)]:
            continue
        df = df.assign(csp=[place(c, n) for c, n in zip(df["LSOA code"], df["LSOA name"])])
        df = df[df["csp"].map(csp_pfa) == pfa]  # placed in a CSP of the reporting force
        counts = df.groupby(["csp", "Crime type"]).size()
        for csp in {c for c, p in csp_pfa.items() if p == pfa}:
            for crime_type, ind in TYPES.items():
                figures.append({"month": month, "csp": csp, "pfa": pfa, "indicator_id": ind,
                                "count": int(counts.get((csp, crime_type), 0)),
                                "pop": population(csp, int(month[:4]))})
    fig = pd.DataFrame(figures)
    fig = fig[fig["pop"].notna()]
    fig["country"] = [WALES if p.startswith("W") else "E" for p in fig["pfa"]]

    def bench(g: pd.DataFrame) -> float:
        # a benchmark of under 10 events has its rate withheld, as any rate (methods.md)
        return g["count"].sum() / g["pop"].sum() * 100_000 if g["count"].sum() >= 10 else math.nan

    benches = {}
    for (month, ind), g in fig.groupby(["month", "indicator_id"]):
        benches[(month, ind, EW)] = bench(g)
        benches[(month, ind, WALES)] = bench(g[g["country"] == WALES])
        for pfa, gp in g.groupby("pfa"):
            benches[(month, ind, pfa)] = bench(gp)
    return {"figures": fig.set_index(["month", "csp", "indicator_id"]), "benches": benches}


def _category(count: int, pop: float, bench: float) -> frozenset[str]:
    """The verdicts a correct product may give (tests/poisson_verdict: exact limits, both verdicts
    only where the benchmark is within Byar's accuracy of a limit)."""
    if count < 10 or math.isnan(bench):
        return frozenset({"not compared"})
    return verdicts(count, pop, bench)


def _police_rows(month: str) -> pd.DataFrame:
    from app import queries as q
    from app.disclosure_view import control

    obs = q.observations(list(TYPES.values()), period_label=month)
    return control(obs[obs["area_type"] == "csp"])


def test_every_profile_comparison_agrees_with_the_raw_files(wh, expected):
    """The profile's rows for every CSP (made by `app.benchmarks.profile_comparisons`, which
    `app.profile.csp_profile` calls for each row) against the independent recomputation."""
    from app import queries as q
    from app.benchmarks import profile_comparisons

    fig, benches = expected["figures"], expected["benches"]
    checked, borderline, disagree = 0, 0, []
    geos: dict[str, dict] = {}
    for month in MONTHS:
        rows = _police_rows(month)
        rows = rows[rows["denominator"].notna()]  # CSPs with a population (a rate)
        assert len(rows) > 200 * 4  # the comparisons exist: 200+ CSPs x 4 types
        for r in rows.to_dict("records"):
            geo = geos.setdefault(r["area_code"], q.area_geography(r["area_code"]))
            mine = fig.loc[(month, r["area_code"], r["indicator_id"])]
            assert r["count"] == mine["count"], (month, r["area_code"], r["indicator_id"])
            comps = profile_comparisons(r, "csp", geo)
            assert [c.role for c, _, _ in comps][:1] == ["national"] and comps[-1][0].role == "local"
            for comp, b, res in comps:
                want = _category(int(mine["count"]), mine["pop"], benches[(month, r["indicator_id"], comp.code)])
                assert b["value"] == pytest.approx(benches[(month, r["indicator_id"], comp.code)], rel=1e-9,
                                                   nan_ok=True)
                checked += 1
                borderline += len(want) > 1
                if res.significance not in want:
                    disagree.append((month, r["area_code"], r["indicator_id"], comp.name, res.significance, want))
    assert not disagree, disagree[:10]
    assert checked > 2 * 2 * 900
    assert borderline < checked / 100  # the verdicts are checked, not accepted on ambiguity


@pytest.mark.parametrize(("code", "month"), [("E22000001", "2018-10"), ("W14000014", "2024-03")])
def test_the_profile_table_is_made_from_those_comparisons(wh, expected, code, month):
    """Bath & North East Somerset (drugs, Oct 2018: similar to its force like-for-like) and the
    Vale of Glamorgan (England & Wales, then Wales, then South Wales) through csp_profile."""
    from app import profile as pr

    fig, benches = expected["figures"], expected["benches"]
    geo, rows = pr.csp_profile(code, month)
    police = rows[rows["indicator_id"].isin(TYPES.values()) & rows["denominator"].notna()]
    assert len(police) == 4
    for r in police.to_dict("records"):
        mine = fig.loc[(month, code, r["indicator_id"])]
        names = [r.get(f"bench{i}_name") for i in (1, 2, 3) if isinstance(r.get(f"bench{i}_name"), str)]
        codes = [EW] + ([WALES] if code.startswith("W") else []) + [geo["pfa"]["code"]]
        assert len(names) == len(codes)
        assert r["bench1_phrase"] == r["_result1"].phrase and r["summary"]
        for i, c in enumerate(codes, start=1):
            want = _category(int(mine["count"]), mine["pop"], benches[(month, r["indicator_id"], c)])
            assert r[f"_result{i}"].significance in want
            assert r[f"bench{i}_basis"].startswith("like-for-like")
    if code == "E22000146":
        drugs = police[police["indicator_id"] == "police_uk_drugs"].iloc[0]
        assert drugs["bench2_name"] == "Avon and Somerset police force area"
        assert drugs["_result2"].significance == "similar"


def test_profile_compare_map_and_csv_give_one_category(wh):
    """All CSPs, violence and sexual offences, March 2024: the profile, the Compare page's
    table and CSV, and the map's values, hover text and CSV carry the same category (and the
    same words)."""
    from app import benchmarks as bm
    from app import queries as q
    from app.benchmarks import profile_comparisons
    from app.disclosure_view import download_csv
    from app.mapdata import map_units

    ind, month = "police_uk_violence_and_sexual_offences", "2024-03"
    # Compare: as pages/3_Compare.py builds `compared` from every area at the level
    everyone = _police_rows(month)
    everyone = everyone[everyone["indicator_id"] == ind]
    compared = bm.national_comparisons(everyone, ind, "csp", month, "month")
    # Map: as pages/2_Map.py builds its values
    mapped = bm.national_comparisons(q.map_values(ind, "csp", month), ind, "csp", month, "month")
    units = map_units(mapped, str(everyone["unit"].iloc[0])).set_index("map_unit")
    compare_csv = pd.read_csv(StringIO(download_csv(compared).decode("utf-8")))
    map_csv = pd.read_csv(StringIO(download_csv(mapped).decode("utf-8")))
    by = {
        "compare": dict(zip(compared["area_code"], compared["comparison_phrase"])),
        "map": dict(zip(mapped["area_code"], mapped["comparison_phrase"])),
        "compare_csv": dict(zip(compare_csv["area_code"], compare_csv["comparison_phrase"])),
        "map_csv": dict(zip(map_csv["area_code"], map_csv["comparison_phrase"])),
    }
    codes = sorted(everyone.loc[everyone["denominator"].notna(), "area_code"])
    assert len(codes) > 200
    categories = set()
    for code in codes:
        # the profile's first comparison for the row (what csp_profile shows and downloads as
        # bench1_phrase; test_the_profile_table_is_made_from_those_comparisons ties the two)
        row = everyone[everyone["area_code"] == code].iloc[0].to_dict()
        _, _, result = profile_comparisons(row, "csp", q.area_geography(code))[0]
        phrase = result.phrase
        categories.add(result.significance)
        for where, got in by.items():
            assert got[code] == phrase, (where, code, got[code], phrase)
        unit = mapped.loc[mapped["area_code"] == code, "map_unit"].iloc[0]
        if (mapped["map_unit"] == unit).sum() == 1:
            assert phrase in units.loc[unit, "label"]
    assert {"higher", "lower", "similar"} <= categories


def test_a_known_recording_problem_is_not_compared_anywhere(wh):
    """Thames Valley knife crime is low from 2014/15 (MANIFEST knife_crime): its 2018/19 figure
    reads "not compared: recording change" with the reason on the profile, Compare, the map and
    their downloads; a force without a known problem is compared."""
    from app import benchmarks as bm
    from app import profile as pr
    from app import queries as q
    from app.disclosure_view import download_csv

    ind, period = "knife_offences_total", "2018/19"
    _, rows = pr.csp_profile("E23000029")
    row = rows[rows["indicator_id"] == ind].iloc[0]
    assert row["period_label"] == period
    for i in (1, 2):
        assert row[f"_result{i}"].significance == "not compared"
        assert row[f"_result{i}"].reason.startswith("recording change: Thames Valley Police knife-crime counts are low")
    assert "recording change" in row["summary"]
    everyone = q.observations([ind], period_label=period)
    everyone = everyone[(everyone["area_type"] == "pfa") & (everyone["period_type"] == row["period_type"])]
    for df in (bm.national_comparisons(everyone, ind, "pfa", period, row["period_type"]),
               bm.national_comparisons(q.map_values(ind, "pfa", period), ind, "pfa", period, row["period_type"])):
        by = df.set_index("area_code")
        assert by.loc["E23000029", "comparison_phrase"] == row["bench1_phrase"]
        assert by.loc["E23000029", "not_compared_reason"].startswith("recording change")
        assert by.loc["E23000032", "significance"] in ("higher", "lower", "similar")  # Kent: compared
        csv = pd.read_csv(StringIO(download_csv(df).decode("utf-8"))).set_index("area_code")
        assert csv.loc["E23000029", "comparison_phrase"].startswith("not compared with England & Wales (recording change")
