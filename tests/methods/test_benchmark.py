"""Benchmark comparison: significance from the interval, rating from polarity, reasons."""
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from methods.benchmark import (
    compare_frame,
    compare_with_benchmark,
    rating_style,
    style_for,
)


@pytest.mark.parametrize(
    ("lower", "upper", "expected"),
    [(45, 60, "higher"), (20, 35, "lower"), (30, 47, "similar"), (41, 50, "similar"), (30, 41, "similar")],
)
def test_significance_from_interval(lower, upper, expected):
    r = compare_with_benchmark((lower + upper) / 2, lower, upper, 41, count=50)
    assert r.significance == expected
    assert r.rating == expected  # polarity 'none' keeps the direction words


@pytest.mark.parametrize(
    ("polarity", "lower", "rating"),
    [
        ("higher_is_worse", 45, "worse"),
        ("higher_is_better", 45, "better"),
        ("higher_is_worse", 20, "better"),
        ("higher_is_better", 20, "worse"),
    ],
)
def test_rating_with_polarity(polarity, lower, rating):
    r = compare_with_benchmark(lower + 5, lower, lower + 10, 41, count=50, polarity=polarity)
    assert r.rating == rating


def test_phrases():
    assert compare_with_benchmark(50, 45, 60, 41, count=50).phrase == "significantly higher than England & Wales"
    assert compare_with_benchmark(40, 30, 50, 41, count=50, benchmark_name="the South East").phrase == (
        "similar to the South East"
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"quality": "synthetic"}, "synthetic data - for demonstration only, not real figures"),
        ({"benchmark_quality": "synthetic"}, "synthetic data - for demonstration only, not real figures"),
        ({"lower": None}, "no confidence interval"),
        ({"upper": float("nan")}, "no confidence interval"),
        ({"count": 9}, "fewer than 10 events"),
        ({"count": None}, "fewer than 10 events"),
        ({"same_geography": False}, "the benchmark is for a different geography"),
        ({"value": None}, "no value"),
        ({"benchmark_value": None}, "no benchmark value"),
    ],
)
def test_not_compared_reasons(kwargs, reason):
    args = {"value": 80, "lower": 70, "upper": 90, "benchmark_value": 41, "count": 100}
    args.update(kwargs)
    r = compare_with_benchmark(
        args.pop("value"), args.pop("lower"), args.pop("upper"), args.pop("benchmark_value"),
        polarity="higher_is_worse", **args,
    )
    assert (r.significance, r.rating, r.reason) == ("not compared", "not compared", reason)
    assert reason in r.phrase and "significantly" not in r.phrase


def test_small_count_is_compared_when_not_a_rate():
    r = compare_with_benchmark(60, 50, 70, 41, count=5, is_rate=False)
    assert r.significance == "higher"


def test_bad_polarity():
    with pytest.raises(ValueError):
        compare_with_benchmark(1, 0, 2, 1, count=20, polarity="up")


def test_style_never_colour_alone():
    worse = rating_style(compare_with_benchmark(50, 45, 60, 41, count=50, polarity="higher_is_worse"))
    assert worse.symbol == "▲" and "higher" in worse.label and "worse" in worse.label
    better = rating_style(compare_with_benchmark(50, 45, 60, 41, count=50, polarity="higher_is_better"))
    assert better.symbol == worse.symbol and better.colour != worse.colour
    none_higher = style_for("higher", "higher", "none")
    none_similar = style_for("similar", "similar", "none")
    polar_similar = style_for("similar", "similar", "higher_is_worse")
    assert none_similar.colour != polar_similar.colour
    assert none_higher.colour not in (worse.colour, better.colour)
    nc = style_for("not compared", "not compared", "none", "fewer than 10 events")
    assert nc.symbol == "○" and "fewer than 10 events" in nc.label
    styles = [worse, better, none_higher, none_similar, polar_similar, nc]
    assert all(s.label and s.symbol and s.colour.startswith("#") for s in styles)


def test_compare_frame_with_column_benchmark():
    df = pd.DataFrame(
        {
            "value": [50, 40, 80],
            "lower_ci": [45, 30, 70],
            "upper_ci": [60, 50, 90],
            "count": [50, 40, 5],
            "region_value": [41, 41, 41],
            "quality": ["official", "official", "official"],
        }
    )
    out = compare_frame(df, "region_value", benchmark_name="the region", polarity="higher_is_worse")
    assert list(out["rating"]) == ["worse", "similar", "not compared"]
    assert out["not_compared_reason"].iloc[2] == "fewer than 10 events"
    assert "rating" not in df


@given(
    lower=st.floats(min_value=0, max_value=1e6),
    width=st.floats(min_value=0, max_value=1e6),
    bench=st.floats(min_value=0, max_value=2e6),
)
def test_never_significant_when_interval_contains_benchmark(lower, width, bench):
    upper = lower + width
    r = compare_with_benchmark(lower, lower, upper, bench, count=100)
    assert (r.significance == "similar") == (lower <= bench <= upper)
