"""Expected verdicts for a count set against a benchmark rate, worked out from the exact Poisson
limits (Garwood's chi-square quantiles), not from Byar's formula typed again.

Why: tests of pages and aggregations need an expected "higher / similar / lower" that does not
come from `methods.rates`. The product uses Byar's approximation for counts of 10 or more, which
Public Health England's "Technical Guide: Confidence Intervals" (2018) says is within 0.2% of the
exact limits (checked against tabulated exact limits in tests/methods/test_rates.py). So a
benchmark within that margin of an exact limit may fall on either side of Byar's limit: there,
and only there, `verdicts` accepts both answers. A test using it should also check that such
borderline cases are rare, so it cannot pass on ambiguity alone.
"""
from __future__ import annotations

from scipy import stats

BYAR_ACCURACY = 0.002  # the guide's "within 0.2% of the exact value for numerators of 10 or more"


def exact_limits(count: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) limits of a Poisson count: chi2(a/2, 2O)/2 and chi2(1-a/2, 2O+2)/2."""
    a = 1 - level
    lower = 0.0 if count == 0 else stats.chi2.ppf(a / 2, 2 * count) / 2
    return float(lower), float(stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2)


def verdicts(count: int, population: float, benchmark: float, per: float = 100_000) -> frozenset[str]:
    """The verdicts a correct product may give for `count` in `population` (a rate per `per`)
    against `benchmark`: one, or two where the benchmark is within Byar's accuracy of a limit."""
    lo, up = (x / population * per for x in exact_limits(count))

    def side(limit: float) -> set[bool]:
        # is the benchmark beyond this limit? both answers when it is within the margin
        return {benchmark < limit * (1 - BYAR_ACCURACY), benchmark < limit * (1 + BYAR_ACCURACY)}

    out = set()
    for bench_below_lower in side(lo):  # the area's whole interval is above the benchmark: higher
        for bench_below_upper in side(up):  # else, the interval reaches the benchmark: similar
            out.add("higher" if bench_below_lower else "similar" if bench_below_upper else "lower")
    return frozenset(out)


def borderline(count: int, population: float, benchmark: float, per: float = 100_000) -> bool:
    """True when both verdicts are accepted for this case."""
    return len(verdicts(count, population, benchmark, per)) > 1
