"""police.uk counts per area level and month with crude rates, region and E&W roll-ups from
complete forces, and like-for-like benchmarks for CSP and LAD figures."""
from __future__ import annotations

import pandas as pd

from etl.codes import ENGLAND, ENGLAND_AND_WALES, WALES
from etl.geocontext import GeoContext
from etl.parsers.police_uk.read import CRIME_TYPES
from etl.periods import month as parse_month
from methods.rates import crude_rate_frame


def _level_counts(rows: pd.DataFrame, code_col: str, coverage: pd.DataFrame, area_pfa: dict[str, str],
                  geo: GeoContext, level: str, months: list[str]) -> pd.DataFrame:
    """Counts per area x month x crime type, with explicit zeros for areas whose force file is
    present (a present file with no such record is a true zero) and no row where it is not."""
    present = coverage[coverage["status"] == "present"][["pfa_code", "month"]].dropna()
    areas = pd.DataFrame({"area_code": list(area_pfa), "pfa_code": list(area_pfa.values())})
    grid = areas.merge(present, on="pfa_code").merge(pd.DataFrame({"crime_type": list(CRIME_TYPES)}), how="cross")
    got = rows.groupby([code_col, "month", "crime_type"], as_index=False)["n"].sum().rename(columns={code_col: "area_code"})
    out = grid.merge(got, on=["area_code", "month", "crime_type"], how="left")
    out["count"] = out["n"].fillna(0).astype(float)
    return _with_rates(out, geo, level)


def _with_rates(out: pd.DataFrame, geo: GeoContext, level: str, note: pd.Series | None = None) -> pd.DataFrame:
    out = out.copy()
    out["indicator_id"] = out["crime_type"].map(CRIME_TYPES)
    periods = {m: parse_month(m) for m in out["month"].unique()}
    out["period_start"] = out["month"].map(lambda m: periods[m].start)
    out["period_end"] = out["month"].map(lambda m: periods[m].end)
    out["period_label"] = out["month"]
    pops = {}
    for code, m in out[["area_code", "month"]].drop_duplicates().itertuples(index=False):
        pops[(code, m)] = geo.population_for(code, int(m[:4]))
    if "denominator" not in out:
        out["denominator"] = [pops[(a, m)][0] for a, m in zip(out["area_code"], out["month"])]
        years = [pops[(a, m)][1] for a, m in zip(out["area_code"], out["month"])]
    else:
        years = out["pop_year"].tolist()
    out["value"] = out["count"] / out["denominator"] * 100_000
    rated = crude_rate_frame(out.assign(denominator=out["denominator"].astype(float)), count_col="count",
                             pop_col="denominator")
    out["value"], out["lower_ci"], out["upper_ci"] = rated["value"], rated["lower_ci"], rated["upper_ci"]
    notes = []
    for (m, y, d, base) in zip(out["month"], years, out["denominator"],
                               note if note is not None else [None] * len(out)):
        parts = [base] if isinstance(base, str) and base else []
        if y is None or pd.isna(d):
            parts.append(f"no {level.upper()} population on this geography: rate not computed")
        elif int(y) != int(m[:4]):
            parts.append(f"rate uses mid-{int(y)} population (nearest year to {m[:4]} available)")
        notes.append("; ".join(parts) or None)
    out["note"] = notes
    return out[["indicator_id", "area_code", "period_start", "period_end", "period_label", "count",
                "denominator", "value", "lower_ci", "upper_ci", "note"]]


def _rollup(pfa_obs: pd.DataFrame, geo: GeoContext, coverage: pd.DataFrame, level: str) -> pd.DataFrame:
    """Region or E&W totals from forces whose file is complete for the month; which forces are
    left out is said in the note and the population is that of the forces included."""
    links = geo.links
    if level == "region":
        parent = links[(links["child_type"] == "pfa") & (links["parent_type"] == "region")]
        pfa_parent = dict(zip(parent["child_code"], parent["parent_code"]))
    else:
        pfa_parent = {c: ENGLAND_AND_WALES for c in geo.codes("pfa")}
    names = dict(zip(geo.areas["area_code"], geo.areas["area_name"]))
    df = pfa_obs.assign(parent=pfa_obs["area_code"].map(pfa_parent)).dropna(subset=["parent"])
    members = pd.Series(pfa_parent).groupby(pd.Series(pfa_parent)).apply(lambda s: set(s.index)).to_dict()
    pop_year = {}
    rows = []
    for (parent, label, ind), g in df.groupby(["parent", "period_label", "indicator_id"]):
        included = set(g["area_code"])
        left_out = sorted(names.get(p, p) for p in members[parent] - included)
        year = int(label[:4])
        denom, used = 0.0, None
        for p in included:
            v, y = geo.population_for(p, year)
            denom += v or 0
            used = y
        pop_year[(parent, label)] = used
        note = (f"sum of {len(included)} of {len(members[parent])} forces with complete files; "
                f"excludes {', '.join(left_out)}" if left_out else None)
        rows.append({"area_code": parent, "month": label, "crime_type": _type_of(ind), "count": g["count"].sum(),
                     "denominator": denom, "pop_year": used, "note_base": note})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    return _with_rates(out, geo, level, note=out["note_base"])


BENCHMARK_COLUMNS = ["indicator_id", "area_code", "figure_level", "period_start", "period_end", "period_label",
                     "period_type", "count", "denominator", "value", "lower_ci", "upper_ci", "basis"]


def like_for_like_benchmarks(level_obs: pd.DataFrame, level: str, area_pfa: dict[str, str],
                             geo: GeoContext) -> pd.DataFrame:
    """Benchmarks for CSP (or LAD) figures that count exactly as those figures do.

    A CSP figure counts only its own force's records placed in it, and only in a month whose
    force file is complete. Its force, region, country and England & Wales benchmarks are
    therefore the sums of the CSP figures themselves (records placed in a CSP of a force with a
    complete month) over those CSPs' population: a CSP with no population (inside a split
    unitary authority) is left out of both. The force's own total (everything it published,
    incl. records with no location or placed outside it) is the benchmark only for force figures.
    `basis` says what each benchmark sums.
    """
    rows = level_obs[level_obs["denominator"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    links = geo.links
    pfa_region = dict(zip(*links.loc[(links["child_type"] == "pfa") & (links["parent_type"] == "region"),
                                     ["child_code", "parent_code"]].T.to_numpy()))
    region_country = dict(zip(*links.loc[(links["child_type"] == "region") & (links["parent_type"] == "country"),
                                         ["child_code", "parent_code"]].T.to_numpy()))
    pfa_country = {p: (WALES if p.startswith("W") else region_country.get(pfa_region.get(p), ENGLAND))
                   for p in set(area_pfa.values()) if isinstance(p, str)}
    rows["pfa"] = rows["area_code"].map(area_pfa)
    names = dict(zip(geo.areas["area_code"], geo.areas["area_name"]))
    noun = {"csp": "CSPs", "lad": "local authorities"}[level]
    out = []
    parents = {"pfa": lambda p: p, "region": pfa_region.get, "country": pfa_country.get,
               "national": lambda p: ENGLAND_AND_WALES}
    for kind, parent_of in parents.items():
        df = rows.assign(parent=rows["pfa"].map(lambda p, f=parent_of: f(p) if isinstance(p, str) else None))
        df = df.dropna(subset=["parent"])
        for (parent, label, ind), g in df.groupby(["parent", "period_label", "indicator_id"]):
            members = {p for p in pfa_country if parent_of(p) == parent}
            included = set(g["pfa"])
            left_out = sorted(names.get(p, p) for p in members - included)
            n_areas = g["area_code"].nunique()
            if kind == "pfa":
                basis = (f"like-for-like: records placed in its {n_areas} {noun}, over their population "
                         "(not its records with no location or placed outside it)")
            else:
                basis = (f"like-for-like: records placed in {n_areas} {noun} of {len(included)} forces with a "
                         "complete month, over their population")
                if left_out:
                    basis += "; no complete month or no area population: " + ", ".join(left_out)
            out.append({"indicator_id": ind, "area_code": parent, "figure_level": level,
                        "period_start": g["period_start"].iloc[0], "period_end": g["period_end"].iloc[0],
                        "period_label": label, "period_type": "month", "count": float(g["count"].sum()),
                        "denominator": float(g["denominator"].sum()), "basis": basis})
    bench = pd.DataFrame(out)
    rated = crude_rate_frame(bench, count_col="count", pop_col="denominator")
    bench["value"], bench["lower_ci"], bench["upper_ci"] = rated["value"], rated["lower_ci"], rated["upper_ci"]
    return bench[BENCHMARK_COLUMNS]


def _type_of(indicator_id: str) -> str:
    return {v: k for k, v in CRIME_TYPES.items()}[indicator_id]
