"""Summary sentences take their comparison words only from benchmark results."""
from methods.benchmark import compare_with_benchmark
from methods.summary import area_summary, format_value
from methods.summary import summary_groups as area_summary_groups

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


# ---------------------------------------------------------------- counts, punctuation, grouping
TV_NOTE = ("Thames Valley Police knife-crime counts are low from 2014/15 onwards; do not join the trend "
           "across 2014/15 Q1.")  # as data/indicator_breaks.csv writes it: a sentence, full stop and all


def test_a_count_says_not_compared_as_its_profile_line_does():
    from methods.benchmark import not_compared_by_registry, registry_reason
    verdict = not_compared_by_registry(registry_reason("count", "utla"))
    text = area_summary(indicator="Social-care assessments citing gangs", area="Kent", period="2024/25",
                        value=1234.0, per=1, decimals=0, unit="assessment episodes", comparison=verdict)
    assert text == ("Social-care assessments citing gangs in Kent in 2024/25: 1,234 assessment episodes; "
                    "not compared (a count, not a rate: the indicator registry gives it no benchmark).")


def test_a_note_in_brackets_loses_its_full_stop_and_the_sentence_ends_once():
    from methods.benchmark import not_compared_for_recording
    verdict = not_compared_for_recording("England & Wales", TV_NOTE)
    text = area_summary(value=62.0, comparison=verdict, **KW)
    assert text.endswith("do not join the trend across 2014/15 Q1).")
    assert ".)" not in text and ".." not in text
    assert verdict.phrase.endswith("2014/15 Q1)")
    # a reason that is itself a sentence ends the sentence once
    assert area_summary(value=None, suppressed_reason="withheld.", **KW).endswith("not shown: withheld.")


def test_summary_groups_lead_with_comparisons_and_say_a_shared_reason_once():
    from methods.benchmark import not_compared_for_recording
    verdict = not_compared_for_recording("England & Wales", TV_NOTE)
    similar = compare_with_benchmark(38.2, 30.1, 47.5, 41.0, count=58)
    synth = compare_with_benchmark(5.0, 4.0, 6.0, 5.5, count=50, quality="synthetic", benchmark_name="England")
    items = [(f"K{i} full; {verdict.phrase}.", f"K{i} short.", verdict) for i in (1, 2, 3)]
    items.insert(1, ("Robbery full, similar.", "Robbery full, similar.", similar))
    items.append(("Synthetic full.", "Synthetic short.", synth))
    groups = area_summary_groups(items)
    assert groups == [
        ("Robbery full, similar.", []),
        ("Not compared with England & Wales (recording change: Thames Valley Police knife-crime counts are low "
         "from 2014/15 onwards; do not join the trend across 2014/15 Q1), for these 3 figures:",
         ["K1 short.", "K2 short.", "K3 short."]),
        ("Synthetic full.", []),  # alone with its reason: its own whole sentence
    ]


def test_a_sentence_without_its_phrase_keeps_its_synthetic_warning():
    synth = compare_with_benchmark(5.0, 4.0, 6.0, 5.5, count=50, quality="synthetic", benchmark_name="England")
    with_phrase = area_summary(value=5.0, comparison=synth, quality="synthetic", **KW)
    without = area_summary(value=5.0, comparison=synth, quality="synthetic", say_not_compared=False, **KW)
    assert "not compared with England (synthetic data" in with_phrase and "SYNTHETIC" not in with_phrase
    assert "not compared" not in without and without.endswith("SYNTHETIC data - for demonstration only, "
                                                                "not real figures.")
