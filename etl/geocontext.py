"""What parsers know about geography and population while the refresh runs.

Geography and population are loaded first; every other parser receives a `GeoContext` so it
can turn a publisher's area name into a code, walk LAD -> CSP -> PFA -> region, and look up the
population for a rate, without reading the geography files again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

# Publishers spell police force areas many ways; these are the equivalences seen in
# police.uk ("Falls within"), Home Office tables and ONS workbooks.
_FORCE_NAME_DROP = re.compile(
    r"\b(police|constabulary|service|force|area|the|of|and|&)\b|[^a-z ]", re.IGNORECASE)
FORCE_ALIASES = {
    "london city": "city london",
    "metropolitan": "metropolitan",
    "metropolitan london": "metropolitan",
}


def normalise_force_name(name: str) -> str:
    """Reduce a force name to its distinctive words: 'Avon & Somerset Constabulary' ->
    'avon somerset', 'London, City of' -> 'city london'."""
    words = _FORCE_NAME_DROP.sub(" ", str(name).lower().replace("&", " and ")).split()
    key = " ".join(words)
    return FORCE_ALIASES.get(key, key)


def normalise_area_name(name: str) -> str:
    """Case, punctuation and 'City of' insensitive key for LAD / CSP names."""
    text = str(name).lower().replace("&", "and")
    text = re.sub(r",\s*(city|county) of$", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


@dataclass
class GeoContext:
    """Areas, links and population as loaded so far in this refresh."""

    areas: pd.DataFrame  # area_code, area_name, area_type, valid_from, valid_to, vintage
    links: pd.DataFrame  # child_code, parent_code, child_type, parent_type, valid_from, valid_to, vintage
    population: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["area_code", "year", "age_band", "sex", "persons", "source_id"]))
    # The two LAD -> CSP lookups as read ({'l17': ..., 'l21': ...}; columns lad_code, lad_name,
    # csp_code, ...): for parsers that place records by a district's name (police.uk's LSOAs).
    lookups: dict[str, pd.DataFrame] = field(default_factory=dict)

    def codes(self, area_type: str) -> set[str]:
        return set(self.areas.loc[self.areas["area_type"] == area_type, "area_code"])

    def name_of(self, code: str) -> str | None:
        return self._names().get(code)

    def _names(self) -> dict[str, str]:
        # Parsers and generators ask for thousands of names: index once per areas table.
        if getattr(self, "_names_for", None) is not self.areas:
            self._name_index = {c: str(n) for c, n in zip(self.areas["area_code"], self.areas["area_name"])
                                if pd.notna(n)}
            self._names_for = self.areas
        return self._name_index

    def pfa_code(self, name: str) -> str | None:
        """PFA code for a force name as any publisher writes it; None if not an E&W territorial
        force (e.g. British Transport Police, Action Fraud)."""
        pfas = self.areas[self.areas["area_type"] == "pfa"]
        keys = {normalise_force_name(n): c for c, n in zip(pfas["area_code"], pfas["area_name"])}
        return keys.get(normalise_force_name(name))

    def area_code_by_name(self, name: str, area_type: str) -> str | None:
        sub = self.areas[self.areas["area_type"] == area_type]
        keys = {normalise_area_name(n): c for c, n in zip(sub["area_code"], sub["area_name"])}
        return keys.get(normalise_area_name(name))

    def parents(self, code: str, parent_type: str) -> list[str]:
        """Parent codes of `code` at `parent_type`, walking links upward (all vintages)."""
        up = self._up()
        frontier, seen, found = {code}, set(), set()
        while frontier:
            seen |= frontier
            nxt = set()
            for child in frontier:
                for parent, ptype in up.get(child, ()):
                    if ptype == parent_type:
                        found.add(parent)
                    nxt.add(parent)
            frontier = nxt - seen
        return sorted(found)

    def _up(self) -> dict[str, list[tuple[str, str]]]:
        if getattr(self, "_up_for", None) is not self.links:
            up: dict[str, list[tuple[str, str]]] = {}
            for c, p, t in zip(self.links["child_code"].tolist(), self.links["parent_code"].tolist(),
                               self.links["parent_type"].tolist()):
                up.setdefault(c, []).append((p, t))
            self._up_index, self._up_for = up, self.links
        return self._up_index

    def children(self, code: str, child_type: str) -> list[str]:
        frontier, seen, found = {code}, set(), set()
        while frontier:
            rows = self.links[self.links["parent_code"].isin(frontier)]
            seen |= frontier
            found |= set(rows.loc[rows["child_type"] == child_type, "child_code"])
            frontier = set(rows["child_code"]) - seen
        return sorted(found)

    def population_for(self, area_code: str, year: int, age_band: str = "all",
                       sex: str = "persons") -> tuple[float | None, int | None]:
        """(persons, year used): the matching mid-year, else the nearest year present (the
        earlier one on a tie)."""
        index = self._population_index()
        years = index.get((area_code, age_band, sex))
        if not years:
            return None, None
        used = min(years, key=lambda y: (abs(y - year), y))
        return years[used], used

    def _population_index(self) -> dict[tuple[str, str, str], dict[int, float]]:
        # Built once per population table: parsers ask for thousands of area-years.
        if getattr(self, "_pop_index_for", None) is not self.population:
            index: dict[tuple[str, str, str], dict[int, float]] = {}
            pop = self.population
            for code, band, sex, year, persons in zip(pop["area_code"].tolist(), pop["age_band"].tolist(),
                                                      pop["sex"].tolist(), pop["year"].tolist(),
                                                      pop["persons"].tolist()):
                index.setdefault((code, band, sex), {})[int(year)] = float(persons)
            self._pop_index = index
            self._pop_index_for = self.population
        return self._pop_index

    # ------------------------------------------------------------ upper tier (utla)
    def upper_tier_codes(self) -> set[str]:
        """Every upper-tier local authority code the geography knows, current or not: counties
        and the 2023 unitaries (stored as 'utla') plus unitary authorities, metropolitan
        districts and London boroughs (stored once, as LADs, with the same code)."""
        lads = self.areas[(self.areas["area_type"] == "lad")
                          & self.areas["area_code"].str.match(r"^(E06|E08|E09)\d{6}$")]
        return self.codes("utla") | set(lads["area_code"])

    def population_exact(self, area_code: str, year: int, age_band: str = "all",
                         sex: str = "persons") -> float | None:
        """The mid-year population for exactly `year`, or None: for rates that must not borrow
        a neighbouring year's denominator (unlike `population_for`)."""
        return self._population_index().get((area_code, age_band, sex), {}).get(int(year))

    def population_years(self, age_band: str = "all", sex: str = "persons") -> list[int]:
        """Mid-years for which any area has a population in this band."""
        years: set[int] = set()
        for (_, band, s), by_year in self._population_index().items():
            if band == age_band and s == sex:
                years |= set(by_year)
        return sorted(years)
