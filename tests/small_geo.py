"""One builder for the small geographies parser tests need (datasette's `make_app_client`
pattern): a test lists only its areas, links and population rows; the columns, validity and
vintage every `GeoContext` table carries are filled in here, the same way for every test.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from etl.geocontext import GeoContext

AREA_COLUMNS = ["area_code", "area_name", "area_type", "valid_from", "valid_to", "vintage"]
LINK_COLUMNS = ["child_code", "parent_code", "child_type", "parent_type", "valid_from", "valid_to", "vintage"]
POPULATION_COLUMNS = ["area_code", "year", "age_band", "sex", "persons", "source_id"]
VALID_FROM = pd.Timestamp("2021-04-01")

# Two Tees Valley unitary authorities, each its own CSP, in the North East: the small England
# several parser tests start from.
TEES_LADS = [("E06000001", "Hartlepool", "lad"), ("E06000002", "Middlesbrough", "lad")]
TEES_CSPS = [("E22000001", "Hartlepool", "csp"), ("E22000002", "Middlesbrough", "csp")]
TEES_LAD_CSP = [("E06000001", "E22000001", "lad", "csp"), ("E06000002", "E22000002", "lad", "csp")]
NORTH_EAST = ("E12000001", "North East", "region")
ENGLAND = ("E92000001", "England", "country")


def make_geo(areas: Iterable[tuple[str, str, str]], links: Iterable[tuple[str, str, str, str]] = (),
             population: Iterable[tuple[str, int, str, float]] = (), *, sex: str = "persons",
             source_id: str = "test") -> GeoContext:
    """A GeoContext from (code, name, type) areas, (child, parent, child type, parent type)
    links and (code, year, age band, persons) population rows; all current since 2021-04-01."""
    validity = {"valid_from": VALID_FROM, "valid_to": pd.NaT, "vintage": "2021"}
    area_df = pd.DataFrame(list(areas), columns=AREA_COLUMNS[:3]).assign(**validity)
    link_df = pd.DataFrame(list(links), columns=LINK_COLUMNS[:4]).assign(**validity)
    pop_df = pd.DataFrame(list(population), columns=["area_code", "year", "age_band", "persons"])
    pop_df = pop_df.assign(sex=sex, source_id=source_id, persons=pop_df["persons"].astype(float))
    return GeoContext(area_df[AREA_COLUMNS], link_df[LINK_COLUMNS], pop_df[POPULATION_COLUMNS])
