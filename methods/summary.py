"""Plain-English summary sentences for an area's figure.

Why: a sentence is where an unsupported claim slips in most easily ("higher than the national
average" when the intervals overlap). So the comparison words come only from a
`benchmark.BenchmarkResult`, missing or suppressed figures say why they are missing, and
synthetic or modelled figures say so in the same sentence block.

Imports: methods.benchmark and methods.wording only. No I/O.
"""
from __future__ import annotations

import math

from methods.benchmark import NOT_COMPARED, BenchmarkResult
from methods.wording import format_value, quality_wording

__all__ = ["area_summary", "format_value"]


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def area_summary(
    *,
    indicator: str,
    area: str,
    period: str,
    value: float | None,
    comparison: BenchmarkResult | None = None,
    per: float = 100_000,
    decimals: int = 1,
    verb: str = "were",
    quality: str | None = "official",
    suppressed_reason: str | None = None,
) -> str:
    """One or two sentences about one area's figure.

    `period` is read as written after "in", e.g. "the 12 months to March 2024". `per` and
    `decimals` are the indicator's registry multiplier and decimals. Example:
    "Possession of weapons offences in Oxford were 38.2 per 100,000 in the 12 months to March
    2024, similar to England & Wales (41.0 per 100,000)."
    A missing value gives "... : not shown: <reason>." using `suppressed_reason` (or "no
    figure available"). A 'not compared' result is stated with its reason.
    """
    note = quality_wording(quality, "sentence")
    if _missing(value):
        why = suppressed_reason or "no figure available"
        text = f"{indicator} in {area} in {period}: not shown: {why}."
        return f"{text} {note}" if note else text
    text = f"{indicator} in {area} {verb} {format_value(value, int(per), decimals)} in {period}"
    if comparison is not None:
        if comparison.significance == NOT_COMPARED:
            text += f"; {comparison.phrase}"
            if comparison.reason == quality_wording("synthetic", "reason"):
                note = None  # the phrase already says it is synthetic
        else:
            bench = comparison.benchmark_value
            bench_text = f" ({format_value(bench, int(per), decimals)})" if bench is not None else ""
            text += f", {comparison.phrase}{bench_text}"
    text += "."
    return f"{text} {note}" if note else text
