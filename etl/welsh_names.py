"""Welsh-language names of Welsh areas (`data/welsh_area_names.csv`), so a user can find
"Caerdydd" or "Heddlu De Cymru". Why a project data file: the generalised boundary file the
refresh reads carries English names only; the Welsh names are ONS's (`LAD22NMW` in ONS's
Names and Codes for local authority districts) and the forces' own Welsh titles.

A CSP of exactly one local authority takes that authority's Welsh name (Welsh partnerships
follow their council's boundary); a CSP of several (Cwm Taf) keeps its one name.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from etl.codes import area_type_of
from etl.errors import SourceError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WELSH_NAMES = PROJECT_ROOT / "data" / "welsh_area_names.csv"
COLUMNS = ["area_code", "name_cy", "name_en"]


def welsh_area_names(areas: pd.DataFrame, links: pd.DataFrame, path: Path = WELSH_NAMES) -> pd.DataFrame:
    """(area_code, name_cy) for the Welsh areas in `areas`, CSPs included through their council.

    Every code must be a Welsh area code of a known pattern and present in `areas`; a wrong,
    duplicated or unknown code is an error naming the file, row and column."""
    df = pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")
    if list(df.columns) != COLUMNS:
        raise SourceError(f"expected columns {COLUMNS}, found {list(df.columns)}", file=path.name, row=1)
    known = set(areas["area_code"])
    seen: set[str] = set()
    for i, r in enumerate(df.itertuples(index=False), start=2):
        code, name = str(r.area_code).strip(), str(r.name_cy).strip()
        if not code.startswith("W") or area_type_of(code) is None:
            raise SourceError(f"{code!r} is not a Welsh area code", file=path.name, row=i, column="area_code")
        if code not in known:
            raise SourceError(f"{code} is not an area in this geography", file=path.name, row=i, column="area_code")
        if code in seen:
            raise SourceError(f"{code} is listed twice", file=path.name, row=i, column="area_code")
        if not name:
            raise SourceError("the Welsh name is empty", file=path.name, row=i, column="name_cy")
        seen.add(code)
    names = df.assign(area_code=df["area_code"].str.strip(), name_cy=df["name_cy"].str.strip())[["area_code", "name_cy"]]
    csp_links = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp")
                      & links["parent_code"].str.startswith("W")]
    if "valid_to" in csp_links:
        csp_links = csp_links[csp_links["valid_to"].isna()]
    one_lad = csp_links.groupby("parent_code")["child_code"].agg(lambda s: list(set(s)))
    one_lad = one_lad[one_lad.map(len) == 1].map(lambda s: s[0])
    by_lad = dict(zip(names["area_code"], names["name_cy"], strict=True))
    csps = pd.DataFrame({"area_code": one_lad.index, "name_cy": [by_lad.get(c) for c in one_lad]}).dropna()
    return pd.concat([names, csps[~csps["area_code"].isin(seen)]], ignore_index=True).astype("string")
