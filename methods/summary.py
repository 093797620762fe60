"""Plain-English summary sentences for an area's figure.

Why: a sentence is where an unsupported claim slips in most easily ("higher than the national
average" when the intervals overlap). So the comparison words come only from a
`benchmark.BenchmarkResult`, missing or suppressed figures say why they are missing, and
synthetic or modelled figures say so in the same sentence block.

Imports: methods.benchmark and methods.wording only. No I/O.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from methods.benchmark import NOT_COMPARED, BenchmarkResult
from methods.wording import end_sentence, format_value, quality_wording, with_unit

__all__ = ["area_summary", "format_value", "summary_groups"]


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
    unit: str | None = None,
    say_not_compared: bool = True,
) -> str:
    """One or two sentences about one area's figure.

    `period` is read as written after "in", e.g. "the 12 months to March 2024". `per` and
    `decimals` are the indicator's registry multiplier and decimals. Example:
    "Possession of weapons offences in Oxford were 38.2 per 100,000 in the 12 months to March
    2024, similar to England & Wales (41.0 per 100,000)."
    A count (`per` 1) reads "<indicator> in <area> in <period>: 158 assessment episodes", its
    `unit` words after the number. A missing value gives "... : not shown: <reason>." using
    `suppressed_reason` (or "no figure available"). A 'not compared' result is stated with its
    reason (a count's too: "...; not compared (a count, not a rate: ...)"), unless
    `say_not_compared` is False: the caller then states it once for several figures
    (`summary_groups`).
    """
    note = quality_wording(quality, "sentence")
    if _missing(value):
        why = suppressed_reason or "no figure available"
        text = end_sentence(f"{indicator} in {area} in {period}: not shown: {why}")
        return f"{text} {note}" if note else text
    if int(per) == 1:
        text = f"{indicator} in {area} in {period}: {with_unit(format_value(value, 1, 0), unit)}"
    else:
        text = f"{indicator} in {area} {verb} {format_value(value, int(per), decimals)} in {period}"
    if comparison is not None:
        if comparison.significance == NOT_COMPARED:
            if say_not_compared:
                text += f"; {comparison.phrase}"
                if comparison.reason == quality_wording("synthetic", "reason"):
                    note = None  # the phrase already says it is synthetic
            # without the phrase the sentence keeps its own warning: a line copied out of a
            # group is never an unlabelled synthetic or modelled figure
        else:
            bench = comparison.benchmark_value
            bench_text = f" ({format_value(bench, int(per), decimals)})" if bench is not None else ""
            text += f", {comparison.phrase}{bench_text}"
    text = end_sentence(text)
    return f"{text} {note}" if note else text


def summary_groups(
    items: Sequence[tuple[str, str, BenchmarkResult | None]],
) -> list[tuple[str, list[str]]]:
    """The summary of several figures as (line, lines under it), so a reader meets the
    comparisons first and a reason for not comparing is said once, not once per figure.

    `items`: per figure, in the order shown, (its sentence, its sentence without the 'not
    compared' phrase (`area_summary(say_not_compared=False)`), its comparison). Figures that were
    compared lead, each its own line; then the others in their order, figures sharing one 'not
    compared' phrase gathered under it, stated once ("Not compared with England & Wales
    (recording change: ...), for these 4 figures:"); a figure alone with its reason keeps its own
    sentence. Every figure is in the result exactly once."""
    compared = [(full, []) for full, _, c in items if c is not None and c.significance != NOT_COMPARED]
    rest = [(full, short, c) for full, short, c in items if c is None or c.significance == NOT_COMPARED]
    by_phrase: dict[str, list[str]] = {}
    for _, short, c in rest:
        if c is not None:
            by_phrase.setdefault(c.phrase, []).append(short)
    out: list[tuple[str, list[str]]] = list(compared)
    done: set[str] = set()
    for full, _, c in rest:
        if c is None or len(by_phrase[c.phrase]) == 1:
            out.append((full, []))
        elif c.phrase not in done:
            done.add(c.phrase)
            shorts = by_phrase[c.phrase]
            out.append((f"{c.phrase[:1].upper()}{c.phrase[1:]}, for these {len(shorts)} figures:", shorts))
    return out
