"""Summary sentences take their comparison words only from benchmark results."""
from methods.benchmark import compare_with_benchmark
from methods.summary import area_summary, format_value

KW = {"indicator": "Possession of weapons offences", "area": "Oxford", "period": "the 12 months to March 2024"}


def test_similar_sentence():
    cmp = compare_with_benchmark(38.2, 30.1, 47.5, 41.0, count=58, polarity="higher_is_worse")
    assert area_summary(value=38.2, comparison=cmp, **KW) == (
        "Possession of weapons offences in Oxford were 38.2 per 100,000 in the 12 months to March 2024, "
        "similar to England & Wales (41.0 per 100,000)."
    )


def test_overlapping_intervals_never_claim_a_difference():
    # The point estimate is well above the benchmark, but the interval includes it.
    cmp = compare_with_benchmark(60, 38, 90, 41, count=12)
    text = area_summary(value=60, comparison=cmp, **KW)
    assert "similar to" in text and "higher" not in text


def test_significant_sentence():
    cmp = compare_with_benchmark(80, 70, 91, 41, count=200)
    assert "significantly higher than England & Wales (41.0 per 100,000)" in area_summary(value=80, comparison=cmp, **KW)


def test_not_compared_reason_stated():
    cmp = compare_with_benchmark(80, 70, 91, 41, count=200, same_geography=False)
    text = area_summary(value=80, comparison=cmp, **KW)
    assert "not compared with England & Wales (the benchmark is for a different geography)" in text
    assert "significantly" not in text


def test_synthetic_and_modelled_flagged():
    cmp = compare_with_benchmark(80, 70, 91, 41, count=200, quality="synthetic")
    text = area_summary(value=80, comparison=cmp, quality="synthetic", **KW)
    assert "synthetic data - for demonstration only" in text.lower() and "significantly" not in text
    assert area_summary(value=80, quality="modelled", **KW).endswith(
        " 80.0 per 100,000 in the 12 months to March 2024. MODELLED estimate - not a published figure.")
    assert "synthetic" in area_summary(value=None, quality="synthetic", **KW).lower()


def test_suppressed_value():
    text = area_summary(value=None, suppressed_reason="fewer than 10 events", **KW)
    assert text == "Possession of weapons offences in Oxford in the 12 months to March 2024: not shown: fewer than 10 events."
    assert "not shown: no figure available" in area_summary(value=float("nan"), **KW)


def test_format_value():
    """Rates with the registry's decimals, counts whole (docs/methods.md, "Indicator registry")."""
    assert format_value(1234.4) == "1,234.4 per 100,000"
    assert format_value(4.24) == "4.2 per 100,000"
    assert format_value(62.34, 100) == "62.3%"
    assert format_value(7.25, 10_000, 2) == "7.25 per 10,000"
    assert format_value(14.0, 1, 0) == "14"


def test_counts_read_as_whole_numbers_and_decimals_come_from_the_caller():
    text = area_summary(value=12.5, per=10_000, decimals=2, **KW)
    assert "were 12.50 per 10,000 in" in text
