"""Plain-English summary sentences for an area's figure.

Why: a sentence is where an unsupported claim slips in most easily ("higher than the national
average" when the intervals overlap). So the comparison words come only from a
`benchmark.BenchmarkResult`, missing or suppressed figures say why they are missing, and
synthetic or modelled figures say so in the same sentence block.

Imports: methods.benchmark only. No I/O.
"""
from __future__ import annotations

import math

from methods.benchmark import NOT_COMPARED, BenchmarkResult

QUALITY_NOTES = {
    "synthetic": "Synthetic data - for demonstration only.",
    "modelled": "This is a modelled estimate, not a published figure.",
}


def format_value(value: float, per: float = 100_000) -> str:
    """'38 per 100,000', '4.2 per 100,000', '62.3%' (per 100). Whole numbers from 10 up, one
    decimal place below, so small rates keep their meaning."""
    if per == 100:
        return f"{value:.1f}%"
    number = f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}"
    return f"{number} per {per:,.0f}"


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
    verb: str = "were",
    quality: str | None = "official",
    suppressed_reason: str | None = None,
) -> str:
    """One or two sentences about one area's figure.

    `period` is read as written after "in", e.g. "the 12 months to March 2024". Example:
    "Possession of weapons offences in Oxford were 38 per 100,000 in the 12 months to March
    2024, similar to England & Wales (41 per 100,000)."
    A missing value gives "... : not shown: <reason>." using `suppressed_reason` (or "no
    figure available"). A 'not compared' result is stated with its reason.
    """
    note = QUALITY_NOTES.get(quality or "")
    if _missing(value):
        why = suppressed_reason or "no figure available"
        text = f"{indicator} in {area} in {period}: not shown: {why}."
        return f"{text} {note}" if note else text
    text = f"{indicator} in {area} {verb} {format_value(float(value), per)} in {period}"  # type: ignore[arg-type]
    if comparison is not None:
        if comparison.significance == NOT_COMPARED:
            text += f"; {comparison.phrase}"
            if comparison.reason and comparison.reason.startswith("synthetic"):
                note = None  # the phrase already says it is synthetic
        else:
            bench = comparison.benchmark_value
            bench_text = f" ({format_value(bench, per)})" if bench is not None else ""
            text += f", {comparison.phrase}{bench_text}"
    text += "."
    return f"{text} {note}" if note else text
