"""Compare an area's interval with a benchmark (England, England & Wales, region, force area).

Why: the convention is "significantly higher / similar / significantly lower" by whether the
95% interval excludes the benchmark value, then coloured by polarity (is higher worse?).
Every page, download and summary sentence must get the comparison from here, so a difference
the intervals do not support is never stated, and every comparison we decline to make carries
a plain reason.

Imports: pandas only. No I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from methods.wording import in_brackets, quality_wording, without_full_stop

POLARITIES = ("higher_is_worse", "higher_is_better", "none")
NOT_COMPARED = "not compared"
MIN_COUNT_FOR_RATE = 10

REASON_SYNTHETIC = quality_wording("synthetic", "reason")
REASON_NO_INTERVAL = "no confidence interval"
REASON_NO_VALUE = "no value"
REASON_NO_BENCHMARK = "no benchmark value"
REASON_FEW_EVENTS = "fewer than 10 events"
REASON_GEOGRAPHY = "the benchmark is for a different geography"


@dataclass(frozen=True)
class BenchmarkResult:
    """Outcome of one comparison.

    significance: 'higher' | 'similar' | 'lower' | 'not compared'
    rating: 'worse' | 'similar' | 'better' (with polarity), 'higher' | 'similar' | 'lower'
        (polarity 'none') or 'not compared'
    reason: why it was not compared (None when it was)
    phrase: e.g. "significantly higher than England & Wales"
    """

    significance: str
    rating: str
    reason: str | None
    phrase: str
    benchmark_name: str
    benchmark_value: float | None
    polarity: str = "none"


@dataclass(frozen=True)
class RatingStyle:
    """How to draw a rating: text label + marker symbol + colour, so colour is never alone."""

    label: str
    symbol: str
    colour: str


def _missing(x: object) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def significance_of(lower: float, upper: float, benchmark: float) -> str:
    """'higher' if the interval lies wholly above the benchmark, 'lower' if wholly below,
    else 'similar'. An interval touching the benchmark includes it, so that is 'similar'."""
    if lower > benchmark:
        return "higher"
    if upper < benchmark:
        return "lower"
    return "similar"


def rating_for(significance: str, polarity: str) -> str:
    """Turn a significance into a rating using the indicator's polarity."""
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if significance in ("similar", NOT_COMPARED) or polarity == "none":
        return significance
    worse_if = "higher" if polarity == "higher_is_worse" else "lower"
    return "worse" if significance == worse_if else "better"


def compare_with_benchmark(
    value: float | None,
    lower: float | None,
    upper: float | None,
    benchmark_value: float | None,
    *,
    benchmark_name: str = "England & Wales",
    polarity: str = "none",
    count: float | None = None,
    is_rate: bool = True,
    quality: str | None = "official",
    benchmark_quality: str | None = "official",
    same_geography: bool = True,
) -> BenchmarkResult:
    """Compare one area's interval with a benchmark value.

    Not compared (with a reason) when: either side is synthetic, the benchmark is flagged as a
    different geography, the area value, interval or benchmark is missing, or — for rates — the
    count is below 10 (or unknown), because the convention withholds such rates.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    bench = None if _missing(benchmark_value) else float(benchmark_value)  # type: ignore[arg-type]
    reason: str | None = None
    if quality == "synthetic" or benchmark_quality == "synthetic":
        reason = REASON_SYNTHETIC
    elif not same_geography:
        reason = REASON_GEOGRAPHY
    elif _missing(value):
        reason = REASON_NO_VALUE
    elif bench is None:
        reason = REASON_NO_BENCHMARK
    elif _missing(lower) or _missing(upper):
        reason = REASON_NO_INTERVAL
    elif is_rate and (_missing(count) or float(count) < MIN_COUNT_FOR_RATE):  # type: ignore[arg-type]
        reason = REASON_FEW_EVENTS
    if reason is not None:
        return BenchmarkResult(
            NOT_COMPARED, NOT_COMPARED, reason,
            f"not compared with {benchmark_name} {in_brackets(reason)}", benchmark_name, bench, polarity,
        )
    sig = significance_of(float(lower), float(upper), bench)  # type: ignore[arg-type]
    phrase = (
        f"similar to {benchmark_name}" if sig == "similar"
        else f"significantly {sig} than {benchmark_name}"
    )
    return BenchmarkResult(
        sig, rating_for(sig, polarity), None, phrase, benchmark_name, bench, polarity
    )


def compare_frame(
    df: pd.DataFrame,
    benchmark: float | str,
    *,
    benchmark_name: str = "England & Wales",
    polarity: str = "none",
    is_rate: bool = True,
    value_col: str = "value",
    lower_col: str = "lower_ci",
    upper_col: str = "upper_ci",
    count_col: str = "count",
    quality_col: str | None = "quality",
    benchmark_quality: str | None = "official",
) -> pd.DataFrame:
    """`compare_with_benchmark` for every row; returns a new frame with columns significance,
    rating, not_compared_reason and comparison_phrase added.

    `benchmark` is a number, or the name of a column holding each row's own benchmark (e.g.
    its region's value). Rows with no count column are treated as count unknown.
    """
    out = df.copy()
    n = len(out)
    bench = out[benchmark] if isinstance(benchmark, str) else pd.Series([benchmark] * n, index=out.index)
    counts = out[count_col] if count_col in out else pd.Series([None] * n, index=out.index)
    quals = out[quality_col] if quality_col and quality_col in out else pd.Series(["official"] * n, index=out.index)
    results = [
        compare_with_benchmark(
            v, lo, up, b, benchmark_name=benchmark_name, polarity=polarity, count=c,
            is_rate=is_rate, quality=q, benchmark_quality=benchmark_quality,
        )
        for v, lo, up, b, c, q in zip(
            out[value_col], out[lower_col], out[upper_col], bench, counts, quals, strict=True
        )
    ]
    out["significance"] = [r.significance for r in results]
    out["rating"] = [r.rating for r in results]
    out["not_compared_reason"] = pd.Series([r.reason for r in results], index=out.index, dtype=object)
    out["comparison_phrase"] = [r.phrase for r in results]
    return out


# Okabe-Ito colour-blind-safe palette. Symbols carry direction and labels carry meaning, so
# colour is a third, redundant channel and never the only one.
_COLOURS = {
    "worse": "#D55E00",
    "better": "#009E73",
    "similar": "#E69F00",
    "higher": "#0072B2",
    "lower": "#56B4E9",
    "similar_no_polarity": "#999999",
    NOT_COMPARED: "#FFFFFF",
}
_SYMBOLS = {"higher": "▲", "lower": "▼", "similar": "●", NOT_COMPARED: "○"}
_LABELS = {
    "higher": "Significantly higher",
    "lower": "Significantly lower",
    "similar": "Similar",
    NOT_COMPARED: "Not compared",
}


def style_for(significance: str, rating: str, polarity: str, reason: str | None = None) -> RatingStyle:
    """Label, symbol and colour for a comparison given as plain values (e.g. frame columns).

    The symbol follows the significance (▲ higher, ▼ lower, ● similar, ○ not compared) and the
    label says it in words, with the polarity reading in brackets ("Significantly higher
    (worse)"). Colours: orange/green/amber with polarity; blues and grey without; white for
    not compared (draw it with an outline).
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    label = _LABELS[significance]
    if rating in ("worse", "better"):
        label = f"{label} ({rating})"
    if significance == NOT_COMPARED and reason:
        label = f"{label}: {without_full_stop(reason)}"
    key = "similar_no_polarity" if (significance == "similar" and polarity == "none") else rating
    return RatingStyle(label=label, symbol=_SYMBOLS[significance], colour=_COLOURS[key])


def rating_style(result: BenchmarkResult) -> RatingStyle:
    """`style_for` applied to a `BenchmarkResult`."""
    return style_for(result.significance, result.rating, result.polarity, result.reason)


# ---------------------------------------------------------------- which benchmarks, and when not
REASON_RECORDING = "recording change"
ENGLAND_AND_WALES_CODE = "K04000001"
ENGLAND_CODE = "E92000001"
WALES_CODE = "W92000004"


COMPARATOR_KINDS = ("national", "wales", "local", "region")
NO_COMPARATORS = "none"
DEFAULT_KINDS = ("national", "wales", "local")
REASON_REGISTRY = "the indicator registry gives it no benchmark"


@dataclass(frozen=True)
class Comparator:
    """One benchmark an area is set against. role: 'national' (England & Wales, or England for
    an England-only publication), 'wales' (Welsh areas, beside England & Wales), 'local' (the
    force for CSP / local-authority figures, the region for force figures) or 'region' (the
    region an upper-tier council, local authority or CSP is in, for publications whose natural
    local comparator is the region: DfE, Fingertips, ONS drug deaths)."""

    role: str
    code: str
    name: str


def parse_comparator_kinds(text: object) -> tuple[str, ...]:
    """The kinds an indicator's registry `comparators` value allows ('national;wales;local' ->
    ('national', 'wales', 'local'); 'none' -> ()). An unknown kind is a ValueError: the registry
    schema rejects it at load, so this only trips on a value that bypassed the registry."""
    value = str(text or "").strip()
    if not value or value == NO_COMPARATORS:
        return ()
    kinds = tuple(k.strip() for k in value.split(";"))
    bad = [k for k in kinds if k not in COMPARATOR_KINDS]
    if bad:
        raise ValueError(f"comparators must be {NO_COMPARATORS!r} or ';'-joined kinds of {COMPARATOR_KINDS}, "
                         f"got {value!r}")
    return kinds


def choose_comparators(
    area_type: str,
    country: str,
    available: set[str] | frozenset[str],
    *,
    pfa: tuple[str, str] | None = None,
    region: tuple[str, str] | None = None,
    kinds: tuple[str, ...] | list[str] | None = None,
) -> list[Comparator]:
    """The benchmarks for one figure, chosen the same way on every page.

    `kinds`: the kinds the indicator's registry row allows (`parse_comparator_kinds`); None is
    the default set (national, wales, local) for a caller with no registry row, () none at all.
    - national: England & Wales, picked by its code, never by sort order. An English area whose
      publication has no England & Wales figure (England-only) is set against England; a Welsh
      area never against England.
    - wales: Wales, for a Welsh area.
    - local: the force (for CSP and local-authority figures) or the region (for force figures).
    - region: the region the area is in (for CSP, local-authority and upper-tier council
      figures; `region` is that area's region, e.g. the council's own).
    `available`: the codes that have a benchmark value for this indicator, period and figure
    level; a kind whose benchmark has no value is left out rather than replaced by another.
    """
    allowed = DEFAULT_KINDS if kinds is None else tuple(kinds)
    out: list[Comparator] = []
    welsh = country == WALES_CODE
    if "national" in allowed:
        if ENGLAND_AND_WALES_CODE in available:
            out.append(Comparator("national", ENGLAND_AND_WALES_CODE, "England & Wales"))
        elif not welsh and ENGLAND_CODE in available:
            out.append(Comparator("national", ENGLAND_CODE, "England"))
    if "wales" in allowed and welsh and WALES_CODE in available:
        out.append(Comparator("wales", WALES_CODE, "Wales"))
    if "local" in allowed:
        if area_type in ("csp", "lad") and pfa and pfa[0] in available:
            out.append(Comparator("local", pfa[0], f"{pfa[1]} police force area"))
        elif area_type == "pfa" and region and region[0] in available:
            out.append(Comparator("local", region[0], region[1]))
    if ("region" in allowed and area_type in ("csp", "lad", "utla") and region and region[0] in available
            and not welsh and all(c.code != region[0] for c in out)):
        out.append(Comparator("region", region[0], region[1]))
    return out


def registry_reason(value_type: object, geography_level: object) -> str:
    """Why an indicator whose registry row says comparators 'none' is never compared, from the
    same row: a count or estimate is not set against areas of another size, a national figure
    has nothing above it, anything else has no like-for-like benchmark published."""
    if value_type in ("count", "estimate"):
        what = f"{'an estimate' if value_type == 'estimate' else 'a count'}, not a rate"
    elif geography_level in ("country", "national", "uk"):
        what = "a national figure"
    else:
        what = "no like-for-like benchmark is published for it"
    return f"{what}: {REASON_REGISTRY}"


def not_compared_by_registry(reason: str, polarity: str = "none") -> BenchmarkResult:
    """'not compared' for an indicator the registry gives no comparators, with its reason."""
    return BenchmarkResult(NOT_COMPARED, NOT_COMPARED, reason, f"not compared {in_brackets(reason)}", "", None,
                           polarity if polarity in POLARITIES else "none")


def recording_problem(
    breaks: pd.DataFrame, area_code: str, period_start: object, period_end: object
) -> str | None:
    """The description of a known recording problem affecting `area_code`'s own counts in the
    period, else None. `breaks`: rows of the warehouse's series_breaks for one indicator, with
    break_date and `affects` ('from': counts from the break on are affected, e.g. Thames
    Valley knife low from 2014/15; 'before': counts before it, e.g. Greater Manchester
    under-counted before 2018/19). Rows without `affects` (a basis change between two
    indicators, a total that merely includes an affected force) mark charts only."""
    if breaks is None or breaks.empty or "affects" not in breaks:
        return None
    mine = breaks[(breaks["area_code"] == area_code) & breaks["affects"].isin(["from", "before"])]
    start, end = pd.Timestamp(period_start), pd.Timestamp(period_end)
    for b in mine.itertuples():
        when = pd.Timestamp(b.break_date)
        if (b.affects == "from" and end >= when) or (b.affects == "before" and start < when):
            return str(b.description)
    return None


def not_compared_for_recording(benchmark_name: str, problem: str, polarity: str = "none",
                               benchmark_value: float | None = None) -> BenchmarkResult:
    """'not compared: recording change' with the reason, for a figure (or its benchmark) whose
    counts a known recording problem affects."""
    reason = f"{REASON_RECORDING}: {problem}"
    return BenchmarkResult(NOT_COMPARED, NOT_COMPARED, reason, f"not compared with {benchmark_name} {in_brackets(reason)}",
                           benchmark_name, benchmark_value, polarity)
