"""Benchmarks and comparisons, made one way for the profile, Compare, the map and every download.

Why one module: "significantly lower than England & Wales" must mean the same thing wherever it
is read, so the comparator (`methods.benchmark.choose_comparators`), the benchmark value and
the category for an area, indicator and period all come from here.

- The benchmark counts as the figure does: where a source stages like-for-like benchmarks
  (the `benchmarks` table; police.uk CSP and local-authority figures count only records placed
  in the area, so their force and national benchmarks are sums of those placed records over
  those areas' population), those are used; otherwise the source's own published aggregates.
  Each benchmark carries a `basis` saying what it sums.
- A known recording problem (series_breaks rows with `affects`) gives "not compared: recording
  change" with the reason, for the area and for a benchmark that is itself affected.
- The indicator registry decides which kinds of comparator a figure gets (`comparators` in
  data/indicators.csv, carried into the warehouse `indicators` table): an indicator whose row says
  'none' is "not compared" everywhere, with the reason read from its row; 'region' sets an
  upper-tier council's (or district's, or CSP's) figure against its own region, the region's
  published figure where there is one, else the sum of its areas' counts over their populations.

Imports: pandas, methods, app.queries, app.disclosure_view. No streamlit calls.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import pandas as pd

from app import queries as q
from app.disclosure_view import control
from app.indicator_format import is_crude_rate, is_rate, multiplier_of
from methods.benchmark import (
    BenchmarkResult,
    Comparator,
    choose_comparators,
    compare_with_benchmark,
    not_compared_by_registry,
    not_compared_for_recording,
    parse_comparator_kinds,
    recording_problem,
    registry_reason,
)
from methods.rates import crude_rate, proportion

NATIONAL_CODES = (q.ENGLAND_WALES, q.ENGLAND, q.WALES)
BENCH_COLUMNS = ["area_code", "count", "denominator", "value", "lower_ci", "upper_ci", "quality", "basis"]


def country_of(code: str) -> str:
    """Wales for Welsh GSS codes (first letter W: W06 LAD, W14 CSP, W15 force), else England."""
    return q.WALES if str(code).startswith("W") else q.ENGLAND


def _polarity(value: object) -> str:
    return value if isinstance(value, str) and value else "none"


def benchmark_values(indicator_id: str, figure_level: str, period_label: str, period_type: str,
                     codes: list[str]) -> pd.DataFrame:
    """Disclosure-controlled benchmark rows (BENCH_COLUMNS) for figures at `figure_level`:
    the like-for-like ones where the source has them, else the published aggregates."""
    codes = tuple(c for c in dict.fromkeys(codes) if c)
    # every CSP of a force asks for the same benchmarks: kept per warehouse version
    return _benchmark_values(indicator_id, figure_level, period_label, period_type, codes,
                             q.warehouse_version()).copy()


@lru_cache(maxsize=4096)
def _benchmark_values(indicator_id: str, figure_level: str, period_label: str, period_type: str,
                      codes: tuple[str, ...], version: str | None) -> pd.DataFrame:
    lfl = q.like_for_like_benchmarks(indicator_id, figure_level, period_label)
    if not lfl.empty:
        df = lfl[lfl["area_code"].isin(codes)].copy()
    else:
        # one cached query per indicator and period, shared by every area's profile
        df = q.observations([indicator_id], period_label=period_label)
        df = df[(df["period_type"] == period_type) & df["area_code"].isin(codes)].copy()
        df["basis"] = _published_basis(df)
    if df.empty:
        return pd.DataFrame(columns=BENCH_COLUMNS)
    return control(df)[BENCH_COLUMNS].reset_index(drop=True)


def _published_basis(df: pd.DataFrame) -> list[str]:
    """What a published aggregate sums: the note's 'sum of ...' part, else 'as published'."""
    notes = df["note"] if "note" in df else pd.Series([None] * len(df), index=df.index)
    return [n.split(";")[0].strip() if isinstance(n, str) and n.lower().startswith("sum of") else "as published"
            for n in notes]


def compare_one(row: Mapping[str, Any], comparator: Comparator, bench: Mapping[str, Any] | None,
                breaks: pd.DataFrame) -> BenchmarkResult:
    """The category of one area figure (`row`: area_code, unit, value, lower_ci, upper_ci,
    count, polarity, quality, period_start, period_end) against one benchmark row."""
    bench_value = None if bench is None else bench.get("value")
    problem = (recording_problem(breaks, row["area_code"], row["period_start"], row["period_end"])
               or recording_problem(breaks, comparator.code, row["period_start"], row["period_end"]))
    if problem:
        return not_compared_for_recording(comparator.name, problem, _polarity(row.get("polarity")),
                                          bench_value)
    return compare_with_benchmark(
        row.get("value"), row.get("lower_ci"), row.get("upper_ci"),
        bench_value if is_rate(row) else None,  # counts are not benchmarked (registry value_type)
        benchmark_name=comparator.name, polarity=_polarity(row.get("polarity")), count=row.get("count"),
        is_rate=True, quality=row.get("quality"), benchmark_quality=None if bench is None else bench.get("quality"),
    )


def comparator_kinds(indicator_id: str) -> tuple[str, ...] | None:
    """The comparator kinds the indicator's registry row allows (() for 'none'); None when the
    warehouse has no `comparators` for it (built before the column: the default kinds)."""
    info = q.indicator(indicator_id) or {}
    value = info.get("comparators")
    return parse_comparator_kinds(value) if isinstance(value, str) and value else None


def registry_verdict(indicator_id: str, polarity: object = None) -> BenchmarkResult | None:
    """'not compared' with the registry's reason for an indicator whose registry row says
    comparators 'none'; None for an indicator that is compared."""
    if comparator_kinds(indicator_id) != ():
        return None
    info = q.indicator(indicator_id) or {}
    return not_compared_by_registry(registry_reason(info.get("value_type"), info.get("geography_level")),
                                    _polarity(polarity if polarity is not None else info.get("polarity")))


def _region_of(area_code: str, figure_level: str, geo: Mapping[str, Any] | None = None) -> tuple[str, str] | None:
    """The region a figure at `figure_level` is set against: an upper-tier council's own region
    (from its geography link), else the area's region (`q.area_region`, or the profile's)."""
    if figure_level in ("utla", "lad", "csp"):
        own = q.area_region(area_code)
        if own is not None:
            return own
    if geo and geo.get("region"):
        return (geo["region"]["code"], geo["region"]["name"])
    return None


def region_benchmarks(indicator_id: str, figure_level: str, period_label: str, period_type: str,
                      region_codes: list[str]) -> dict[str, dict[str, Any]]:
    """Region benchmark rows (BENCH_COLUMNS) for figures at `figure_level`, counted as those
    figures are: the region's published figure for the same indicator and period (same count,
    population and multiplier), else the sum of the counts of the region's areas at that level
    over the sum of their populations, with `basis` saying so and naming any area left out."""
    codes = tuple(sorted(c for c in set(region_codes) if c))
    return {k: dict(v) for k, v in _region_benchmarks(indicator_id, figure_level, period_label, period_type, codes,
                                                      q.warehouse_version()).items()}


@lru_cache(maxsize=1024)
def _region_benchmarks(indicator_id: str, figure_level: str, period_label: str, period_type: str,
                       codes: tuple[str, ...], version: str | None) -> dict[str, dict[str, Any]]:
    published = benchmark_values(indicator_id, figure_level, period_label, period_type, list(codes))
    out = {r["area_code"]: r for r in published.to_dict("records")}
    missing = [c for c in codes if c not in out]
    if not missing:
        return out
    info = q.indicator(indicator_id) or {}
    if info.get("value_type") not in ("crude_rate", "percentage"):  # a standardised rate cannot be summed
        return out
    # The areas that tile a region at the figure's tier, each once: for an upper-tier figure the
    # county councils and the unitary councils (unitary, metropolitan, London: their own upper
    # tier); for a district or CSP figure every local authority.
    areas = q.observations([indicator_id], period_label=period_label)
    areas = areas[areas["period_type"] == period_type]
    if figure_level == "utla":
        tier = (areas["area_type"] == "utla") | ((areas["area_type"] == "lad")
                                                 & areas["area_code"].str.match(q.UPPER_TIER_LAD_PATTERN))
    else:
        tier = areas["area_type"] == "lad"
    areas = areas[tier]
    if areas.empty:
        return out
    areas = control(areas)
    regions = q.area_regions().set_index("area_code")["region_code"]
    areas = areas.assign(region_code=areas["area_code"].map(regions))
    breaks = q.recording_breaks(indicator_id)
    kind = "upper-tier council" if figure_level == "utla" else "local authority"
    for code in missing:
        mine = areas[areas["region_code"] == code]
        usable = [pd.notna(r["count"]) and pd.notna(r["denominator"]) and float(r["denominator"]) > 0
                  and not recording_problem(breaks, r["area_code"], r["period_start"], r["period_end"])
                  for r in mine.to_dict("records")]
        used, left = mine[usable], mine[[not u for u in usable]]
        if used.empty:
            continue
        count, denominator = float(used["count"].sum()), float(used["denominator"].sum())
        per = float(multiplier_of(info) or 100_000)
        res = (crude_rate(count, denominator, per=per) if info.get("value_type") == "crude_rate"
               else proportion(count, denominator, per=per))
        worst = max(used["quality"].fillna("unknown"), key=lambda x: q.QUALITY_RANK.get(x, len(q.QUALITY_RANK)))
        skipped = ", ".join(str(n) for n in left["area_name"])
        out[code] = {"area_code": code, "count": count, "denominator": denominator, "value": res.value,
                     "lower_ci": res.lower, "upper_ci": res.upper, "quality": worst,
                     "basis": (f"sum of the counts of the region's {len(used)} {kind} figures over their "
                               f"population (no published regional figure)"
                               + (f"; not included: {skipped}" if skipped else ""))}
    return out


def profile_comparisons(row: Mapping[str, Any], figure_level: str, geo: Mapping[str, Any]
                        ) -> list[tuple[Comparator, Mapping[str, Any], BenchmarkResult]]:
    """Every comparison the profile makes for one figure, in order (national, Wales, local,
    region), of the kinds the indicator's registry row allows (none for 'none': see
    `registry_verdict`)."""
    kinds = comparator_kinds(row["indicator_id"])
    if kinds == ():
        return []
    pfa = (geo["pfa"]["code"], geo["pfa"]["name"]) if geo.get("pfa") else None
    region = (geo["region"]["code"], geo["region"]["name"]) if geo.get("region") else None
    if kinds and "region" in kinds and figure_level in ("utla", "lad", "csp"):
        region = _region_of(str(row["area_code"]), figure_level, geo)
    codes = [*NATIONAL_CODES, *(c[0] for c in (pfa, region) if c)]
    bench = benchmark_values(row["indicator_id"], figure_level, row["period_label"], row["period_type"], codes)
    bench = bench[bench["area_code"] != row["area_code"]]
    rows = {r["area_code"]: r for r in bench.to_dict("records")}
    if kinds and "region" in kinds and region and figure_level in ("utla", "lad", "csp") and region[0] not in rows:
        rows.update(region_benchmarks(row["indicator_id"], figure_level, row["period_label"], row["period_type"],
                                      [region[0]]))
    comps = choose_comparators(figure_level, geo["country"], set(rows), pfa=pfa, region=region, kinds=kinds)
    breaks = q.recording_breaks(row["indicator_id"])
    return [(c, rows[c.code], compare_one(row, c, rows[c.code], breaks)) for c in comps]


def _figure_row(r: Mapping[str, Any], indicator_id: str) -> dict[str, Any]:
    """One figure as `compare_one` reads it: the indicator's registry value type, multiplier and
    polarity filled in where the frame lacks them (the upper-tier map's rows), so a map, a table
    and the profile read the same rate as a rate."""
    row = {**r, "indicator_id": indicator_id}
    info = q.indicator(indicator_id) or {}
    for k in ("value_type", "multiplier", "polarity"):
        if k not in row or not isinstance(row[k], str | int | float) or pd.isna(row[k]):
            row[k] = info.get(k)
    return row


def national_comparisons(df: pd.DataFrame, indicator_id: str, figure_level: str, period_label: str,
                         period_type: str) -> pd.DataFrame:
    """`df` (disclosure-controlled figures of many areas at one level and period) with the
    comparison against each area's national comparator, as the profile's first benchmark:
    columns benchmark_name, benchmark_value, benchmark_basis, significance, rating,
    not_compared_reason, comparison_phrase. Disclosure control is applied first, as for the
    profile's rows. An indicator the registry gives no comparators is "not compared" on every
    row with the registry's reason. Where the registry allows the region comparator (upper-tier
    council, local-authority and CSP figures), the comparison with each area's region is added
    too, as on the profile (`region_comparisons`)."""
    out = control(df) if len(df) else df.copy()
    if (verdict := registry_verdict(indicator_id)) is not None:
        return _with_comparison_columns(out, [("", None, verdict) for _ in range(len(out))])
    kinds = comparator_kinds(indicator_id)
    bench = benchmark_values(indicator_id, figure_level, period_label, period_type, list(NATIONAL_CODES))
    rows = {r["area_code"]: r for r in bench.to_dict("records")}
    breaks = q.recording_breaks(indicator_id)
    compared = []
    for r in out.to_dict("records"):
        comps = [c for c in choose_comparators(figure_level, country_of(r["area_code"]), set(rows), kinds=kinds)
                 if c.role == "national"]
        if comps:
            comp, b = comps[0], rows[comps[0].code]
            res = compare_one(_figure_row(r, indicator_id), comp, b, breaks)
        else:
            comp, b = Comparator("national", "", "England & Wales"), None
            res = compare_with_benchmark(r.get("value"), r.get("lower_ci"), r.get("upper_ci"), None,
                                         benchmark_name=comp.name, quality=r.get("quality"))
        compared.append((comp.name, b, res))
    out = _with_comparison_columns(out, compared)
    if kinds and "region" in kinds and figure_level in ("utla", "lad", "csp"):
        out = region_comparisons(out, indicator_id, figure_level, period_label, period_type)
    return out


REGION_COLUMNS = ["region_code", "region_name", "region_value", "region_basis", "region_significance",
                  "region_rating", "region_not_compared_reason", "region_phrase"]


def region_comparisons(df: pd.DataFrame, indicator_id: str, figure_level: str, period_label: str,
                       period_type: str) -> pd.DataFrame:
    """`df` (figures already disclosure-controlled, as `national_comparisons` leaves them) with
    each area's comparison against its own region (REGION_COLUMNS), made exactly as the
    profile makes it (`profile_comparisons`' 'region' comparator: same benchmark row, same
    verdict)."""
    out = df.copy()
    regions = {r["area_code"]: (r["region_code"], r["region_name"]) for r in q.area_regions().to_dict("records")}
    mine = {c: regions.get(c) for c in out["area_code"]}
    bench = region_benchmarks(indicator_id, figure_level, period_label, period_type,
                              [r[0] for r in mine.values() if r])
    breaks = q.recording_breaks(indicator_id)
    kinds = comparator_kinds(indicator_id)
    values: dict[str, list[Any]] = {c: [] for c in REGION_COLUMNS}
    for r in out.to_dict("records"):
        reg = mine.get(r["area_code"])
        comps = [c for c in choose_comparators(figure_level, country_of(r["area_code"]), set(bench) if reg else set(),
                                               region=reg, kinds=kinds) if c.role == "region"]
        if comps:
            b = bench[comps[0].code]
            res = compare_one(_figure_row(r, indicator_id), comps[0], b, breaks)
            row = [comps[0].code, comps[0].name, b.get("value"), b.get("basis"), res.significance, res.rating,
                   res.reason, res.phrase]
        else:
            name = reg[1] if reg else "its region"
            why = "no region for this area" if reg is None else "no region benchmark for this period"
            row = [reg[0] if reg else None, name, None, None, "not compared", "not compared", why,
                   f"not compared with {name} ({why})"]
        for k, v in zip(REGION_COLUMNS, row, strict=True):
            values[k].append(v)
    for k, v in values.items():
        out[k] = pd.Series(v, index=out.index, dtype=object)
    return out


def _with_comparison_columns(out: pd.DataFrame,
                             compared: list[tuple[str, Mapping[str, Any] | None, BenchmarkResult]]) -> pd.DataFrame:
    """`out` with one comparison per row, (benchmark name, benchmark row or None, result), in
    the columns every page and CSV reads: benchmark_name, benchmark_value, benchmark_basis,
    significance, rating, not_compared_reason, comparison_phrase."""
    columns = {
        "benchmark_name": [name for name, _, _ in compared],
        "benchmark_value": [None if b is None else b.get("value") for _, b, _ in compared],
        "benchmark_basis": [None if b is None else b.get("basis") for _, b, _ in compared],
        "significance": [res.significance for _, _, res in compared],
        "rating": [res.rating for _, _, res in compared],
        "not_compared_reason": [res.reason for _, _, res in compared],
        "comparison_phrase": [res.phrase for _, _, res in compared],
    }
    for k, v in columns.items():
        out[k] = pd.Series(v, index=out.index, dtype=object)
    return out


def national_benchmark(indicator_id: str, figure_level: str, period_label: str, period_type: str,
                       country: str = q.ENGLAND) -> tuple[Comparator | None, Mapping[str, Any] | None]:
    """The national comparator and its row for figures at one level (for a funnel plot's
    centre line and a ranked chart's reference line)."""
    kinds = comparator_kinds(indicator_id)
    if kinds == ():  # the registry gives it no comparators
        return None, None
    bench = benchmark_values(indicator_id, figure_level, period_label, period_type, list(NATIONAL_CODES))
    rows = {r["area_code"]: r for r in bench.to_dict("records")}
    comps = [c for c in choose_comparators(figure_level, country, set(rows), kinds=kinds) if c.role == "national"]
    return (comps[0], rows[comps[0].code]) if comps else (None, None)


# ---------------------------------------------------------------- most similar partnerships
SIMILAR_ROLE = "similar"
SIMILAR_MEMBER_COLUMNS = ["neighbour_code", "neighbour_name", "rank", "distance", "count", "denominator", "value",
                          "lower_ci", "upper_ci", "quality", "included", "why_not_included"]


def similar_comparator(area_code: str, area_name: str, n: int) -> Comparator:
    """The comparator for a CSP's group. Its name carries the area ("the 15 partnerships most
    similar to Oxford"), so the phrase reads the same on every page that shows it."""
    return Comparator(SIMILAR_ROLE, f"similar:{area_code}", f"the {n} partnerships most similar to {area_name}")


def similar_benchmark(indicator_id: str, period_label: str, period_type: str, area_code: str
                      ) -> tuple[Comparator | None, dict[str, Any] | None, pd.DataFrame]:
    """The group average of a CSP's most similar partnerships for one indicator and period,
    counted as the CSP's own figure is: the sum of the group's counts over the sum of their
    populations (not a mean of their rates), each member's figure as published for it
    (disclosure-controlled first; a member with no figure, a withheld count or a known
    recording problem is left out and named in `basis`). The area itself is not in its own
    benchmark. Returns (comparator, benchmark row or None, members); (None, None, empty) when
    the area has no group."""
    comp, bench, members = _similar_benchmark(indicator_id, period_label, period_type, area_code,
                                              q.warehouse_version())
    return comp, (dict(bench) if bench is not None else None), members.copy()


@lru_cache(maxsize=2048)
def _similar_benchmark(indicator_id: str, period_label: str, period_type: str, area_code: str,
                       version: str | None) -> tuple[Comparator | None, dict[str, Any] | None, pd.DataFrame]:
    group = q.similar_partnerships(area_code)
    if group.empty:
        return None, None, pd.DataFrame(columns=SIMILAR_MEMBER_COLUMNS)
    me = q.area(area_code) or {}
    comp = similar_comparator(area_code, str(me.get("area_name", area_code)), len(group))
    obs = q.observations([indicator_id], period_label=period_label)
    obs = obs[(obs["period_type"] == period_type) & obs["area_code"].isin(list(group["neighbour_code"]))]
    obs = control(obs) if len(obs) else obs
    by_code = {r["area_code"]: r for r in obs.to_dict("records")}
    breaks = q.recording_breaks(indicator_id)
    rows = []
    for g in group.to_dict("records"):
        r = by_code.get(g["neighbour_code"])
        why = None
        if r is None:
            why = "no figure for this period"
        elif pd.isna(r.get("count")) or pd.isna(r.get("denominator")) or not float(r["denominator"]) > 0:
            why = str(r.get("suppressed_reason") or "no count or population")
        elif problem := recording_problem(breaks, g["neighbour_code"], r["period_start"], r["period_end"]):
            why = f"recording change: {problem}"
        rows.append({"neighbour_code": g["neighbour_code"], "neighbour_name": g["neighbour_name"],
                     "rank": int(g["rank"]), "distance": float(g["distance"]),
                     **{k: (None if r is None else r.get(k)) for k in ("count", "denominator", "value", "lower_ci",
                                                                       "upper_ci", "quality")},
                     "included": why is None, "why_not_included": why})
    members = pd.DataFrame(rows, columns=SIMILAR_MEMBER_COLUMNS)
    used = members[members["included"]]
    info = q.indicator(indicator_id) or {}
    if used.empty or not is_crude_rate(info):  # a group rate is summed counts over summed populations
        return comp, None, members
    count, denominator = float(used["count"].sum()), float(used["denominator"].sum())
    rate = crude_rate(count, denominator, per=float(multiplier_of(info) or 100_000))
    worst = max(used["quality"].fillna("unknown"), key=lambda x: q.QUALITY_RANK.get(x, len(q.QUALITY_RANK)))
    left_out = members[~members["included"]]
    skipped = "; ".join(f"{n}: {w}" for n, w in zip(left_out["neighbour_name"], left_out["why_not_included"],
                                                    strict=True))
    basis = (f"sum of the counts of {len(used)} of these {len(members)} partnerships over their population"
             + (f" (not included: {skipped})" if skipped else ""))
    bench = {"area_code": comp.code, "count": count, "denominator": denominator, "value": rate.value,
             "lower_ci": rate.lower, "upper_ci": rate.upper, "quality": worst, "basis": basis}
    return comp, bench, members


def similar_comparison(row: Mapping[str, Any], figure_level: str
                       ) -> tuple[Comparator, Mapping[str, Any] | None, BenchmarkResult] | None:
    """One CSP figure against the group average of its most similar partnerships, made the same
    way for the profile and Compare (same area, indicator and period: same verdict). None when
    the figure is not a CSP's own rate or the CSP has no group."""
    if figure_level != "csp" or not is_rate(row):  # a count is not set against a group's rate
        return None
    comp, bench, _ = similar_benchmark(str(row["indicator_id"]), str(row["period_label"]), str(row["period_type"]),
                                       str(row["area_code"]))
    if comp is None:
        return None
    return comp, bench, compare_one(row, comp, bench, q.recording_breaks(str(row["indicator_id"])))


def similar_set_comparisons(df: pd.DataFrame, area_code: str, indicator_id: str, period_label: str,
                            period_type: str) -> pd.DataFrame:
    """`df` (CSP figures: the area and its group) with each figure compared with the area's
    group average, in the columns `national_comparisons` gives. The area's own row is exactly
    `similar_comparison`'s verdict."""
    out = control(df) if len(df) else df.copy()
    comp, bench, _ = similar_benchmark(indicator_id, period_label, period_type, area_code)
    breaks = q.recording_breaks(indicator_id)
    compared = []
    for r in out.to_dict("records"):
        r = {**r, "indicator_id": indicator_id}
        if comp is None:
            res = compare_with_benchmark(r.get("value"), r.get("lower_ci"), r.get("upper_ci"), None,
                                         benchmark_name="most similar partnerships", quality=r.get("quality"))
        else:
            res = compare_one(r, comp, bench, breaks)
        compared.append((res.benchmark_name, bench, res))
    return _with_comparison_columns(out, compared)


def chart_benchmark_codes(roles_and_codes: Iterable[tuple[object, object]], own_code: object) -> list[str]:
    """The benchmarks a trend chart draws beside an area's line, from its comparisons in order
    as (role, code): the first national one and the first local one (the force), else the first
    region one: at most two lines, the ones the verdicts use. The profile page and the report
    both draw these."""
    first: dict[str, str] = {}
    for role, code in roles_and_codes:
        if isinstance(role, str) and isinstance(code, str):
            first.setdefault(role, code)
    keep = (first.get("national"), first.get("local") or first.get("region"))
    return [c for c in keep if isinstance(c, str) and c != own_code]


def benchmark_series(indicator_id: str, figure_level: str, period_type: str, codes: list[str]) -> pd.DataFrame:
    """The benchmarks of figures at `figure_level` over time, for a trend chart beside the
    area's own line: counted as the figure is (the like-for-like rows the profile's verdicts
    use, where the source has them; else the published aggregates), disclosure-controlled,
    with `basis` saying what each sums and `line_name` = 'name (basis)' for the legend."""
    codes = [c for c in dict.fromkeys(codes) if c]
    lfl = q.like_for_like_series(indicator_id, figure_level, codes)
    if not lfl.empty:
        df = lfl[lfl["period_type"] == period_type].copy()
    else:
        df = q.indicator_series(indicator_id, codes, period_type)
        df["basis"] = _published_basis(df)
    if df.empty:
        return df
    out = control(df)
    if "source_title" not in out:  # like-for-like rows: what the line is, in the hover
        out["source_title"] = [f"benchmark counted like the area's figure: {b}" for b in out["basis"]]
    out["line_name"] = [f"{n} ({b})" if isinstance(b, str) and b else str(n)
                        for n, b in zip(out["area_name"].fillna(out["area_code"]), out["basis"], strict=True)]
    return out.reset_index(drop=True)
