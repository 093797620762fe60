"""Placing police.uk records: LSOA -> LAD -> CSP -> force by the LSOA's name and both lookup
vintages; what cannot be placed is given a reason, never dropped."""
from __future__ import annotations

import re

import pandas as pd

from etl.geocontext import GeoContext, normalise_area_name

LSOA_NAME_RE = re.compile(r"^(.*) (\d{3}[A-Z])$")


def district_key(name: str) -> str:
    """The key an LSOA name's district part and a lookup's LAD name are matched on: case,
    punctuation, '&'/'and' and ', City of' insensitive (`normalise_area_name`), and without a
    leading 'The', which police.uk writes for some districts the ONS lookups name without it
    ('The Vale of Glamorgan 001A' for LAD 'Vale of Glamorgan')."""
    key = normalise_area_name(name)
    return key[4:] if key.startswith("the ") else key


def resolve_lsoas(lsoas: pd.DataFrame, geo: GeoContext, l17: pd.DataFrame, l21: pd.DataFrame) -> pd.DataFrame:
    """Place every (lsoa_code, lsoa_name) seen: lad21_code, csp_code, reason (None when placed).

    `l17` / `l21`: the two lookups (lad_code, lad_name, csp_code). An LSOA code's names across
    all files loaded are pooled, so an old-name sighting resolves a new-name record.
    """
    names21 = {district_key(n): c for c, n in zip(l21["lad_code"], l21["lad_name"])}
    names17 = {district_key(n): c for c, n in zip(l17["lad_code"], l17["lad_name"])}
    csp17 = dict(zip(l17["lad_code"], l17["csp_code"]))
    csps21 = l21.groupby("lad_code")["csp_code"].apply(lambda s: sorted(set(s))).to_dict()
    # LAD17 -> LAD21 where the code changed: the one new LAD21 inside the same CSP.
    lad21_set, lad17_set = set(l21["lad_code"]), set(l17["lad_code"])
    new21_by_csp = l21[~l21["lad_code"].isin(lad17_set)].groupby("csp_code")["lad_code"].apply(set).to_dict()
    lad17_to_21 = {}
    for lad, csp in csp17.items():
        if lad in lad21_set:
            lad17_to_21[lad] = lad
        elif len(new21_by_csp.get(csp, set())) == 1:
            lad17_to_21[lad] = next(iter(new21_by_csp[csp]))

    df = lsoas[["lsoa_code", "lsoa_name"]].drop_duplicates().copy()
    base = df["lsoa_name"].fillna("").str.extract(LSOA_NAME_RE)[0].fillna("").map(district_key)
    df["lad21_named"] = base.map(names21)
    df["lad17_named"] = base.map(names17)
    by_code = df.groupby("lsoa_code").agg(lad21=("lad21_named", "first"), lad17=("lad17_named", "first"))
    df = df.join(by_code, on="lsoa_code")
    df["lad17"] = df["lad17_named"].fillna(df["lad17"])
    df["lad21"] = df["lad21_named"].fillna(df["lad21"])
    df["lad21"] = df["lad21"].fillna(df["lad17"].map(lad17_to_21))

    def place(r) -> tuple[str | None, str | None]:
        if pd.isna(r.lsoa_code):
            return None, "no location (empty LSOA)"
        if pd.isna(r.lad21) and pd.isna(r.lad17):
            return None, "LSOA name not matched to any LAD of either lookup"
        if pd.notna(r.lad21) and len(csps21.get(r.lad21, [])) == 1:
            return csps21[r.lad21][0], None
        if pd.notna(r.lad17) and r.lad17 in csp17:
            return csp17[r.lad17], None
        return None, "in a unitary LAD split across CSPs; LSOA never seen with a pre-2019 district name"

    placed = [place(r) for r in df.itertuples()]
    df["csp_code"] = [p[0] for p in placed]
    df["reason"] = [p[1] for p in placed]
    return df[["lsoa_code", "lsoa_name", "lad21", "csp_code", "reason"]].rename(columns={"lad21": "lad21_code"})


def _all_force_slugs(geo: GeoContext) -> set[str]:
    """Slugs of every territorial force, so a force with no file at all shows as missing."""
    names = geo.areas.loc[geo.areas["area_type"] == "pfa", "area_name"]
    out = set()
    for n in names:
        slug = re.sub(r"[^a-z]+", "-", n.lower().replace("&", "and")).strip("-")
        slug = {"london-city-of": "city-of-london", "metropolitan-police": "metropolitan"}.get(slug, slug)
        out.add(slug)
    return out


def _lad_pfa(geo: GeoContext) -> dict[str, str]:
    links = geo.links
    lad_csp = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp")]
    csp_pfa = links[links["child_type"] == "csp"].set_index("child_code")["parent_code"]
    m = lad_csp.assign(pfa=lad_csp["parent_code"].map(csp_pfa)).drop_duplicates("child_code")
    return dict(zip(m["child_code"], m["pfa"]))
