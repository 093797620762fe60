"""The one quality wording and the one number formatter (methods.wording), against strings
written out by hand."""
from __future__ import annotations

import math

import pytest

from methods.wording import format_number, format_value, per_words, quality_warnings, quality_wording, with_unit


@pytest.mark.parametrize(("quality", "form", "expected"), [
    ("official", "label", "official statistics"),
    ("synthetic", "label", "SYNTHETIC data - for demonstration only, not real figures"),
    ("modelled", "label", "MODELLED estimate - not a published figure"),
    ("local", "label", "local data shared with the partnership"),
    ("unsourced", "label", "NO OFFICIAL SOURCE - a figure as reported, not an official statistic"),
    ("provisional", "label", "provisional"),
    (None, "label", "unknown quality"),
    ("synthetic", "warning", "SYNTHETIC data - for demonstration only, not real figures"),
    ("official", "warning", None),
    ("local", "warning", None),
    ("modelled", "sentence", "MODELLED estimate - not a published figure."),
    ("official", "sentence", None),
    ("synthetic", "reason", "synthetic data - for demonstration only, not real figures"),
    ("modelled", "reason", "modelled estimate - not a published figure"),
])
def test_quality_wording(quality, form, expected):
    assert quality_wording(quality, form) == expected


def test_unknown_form_is_an_error():
    with pytest.raises(ValueError, match="form"):
        quality_wording("official", "shout")


def test_warnings_for_a_mix_of_qualities_synthetic_first():
    assert quality_warnings(["official", "modelled", "synthetic"]) == [
        "SYNTHETIC data - for demonstration only, not real figures",
        "MODELLED estimate - not a published figure"]
    assert quality_warnings("modelled, official") == ["MODELLED estimate - not a published figure"]
    assert quality_warnings(["official", None]) == []


@pytest.mark.parametrize(("value", "decimals", "multiplier", "expected"), [
    (14.0, 0, 1, "14"),             # a count: whole, never "14.0"
    (14.0, 1, 1, "14"),             # a count stays whole whatever decimals say
    (1234567.0, 0, 1, "1,234,567"),
    (38.24, 1, 100_000, "38.2"),
    (38.25, 2, 100_000, "38.25"),
    (1234.44, 1, 10_000, "1,234.4"),
    (7.0, 1, 100, "7.0"),           # a rate keeps its decimals even when whole
    (None, 1, 100_000, "n/a"),
    (math.nan, 1, 1, "n/a"),
])
def test_format_number(value, decimals, multiplier, expected):
    assert format_number(value, decimals, multiplier=multiplier) == expected


def test_format_value_and_per_words():
    assert per_words(100_000) == "per 100,000" and per_words(10_000) == "per 10,000"
    assert per_words(100) == "%" and per_words(1) == ""
    assert format_value(38.24, 100_000, 1) == "38.2 per 100,000"
    assert format_value(12.345, 10_000, 1) == "12.3 per 10,000"
    assert format_value(46.0, 100, 1) == "46.0%"
    assert format_value(5069.0, 1, 0) == "5,069"
    assert format_value(None, 100, 1) == "n/a"


@pytest.mark.parametrize(("number", "unit", "expected"), [
    ("6.2", "%", "6.2%"),                                            # GSS/ONS: no space before %
    ("6.2", "percent", "6.2%"),
    ("5.0", "percent of children looked after", "5.0% of children looked after"),
    ("5.0", "Per cent of adults", "5.0% of adults"),
    ("38.2", "offences per 100,000 population", "38.2 offences per 100,000 population"),
    ("1,234", "assessment episodes", "1,234 assessment episodes"),
    ("**6.2**", "%", "**6.2**%"),                                    # a bold number keeps its sign
    ("14", "percentage points", "14 percentage points"),             # not a % unit
    ("n/a", "%", "n/a"),
    ("14", None, "14"),
    ("14", "", "14"),
])
def test_with_unit_writes_the_percent_sign_against_the_number(number, unit, expected):
    assert with_unit(number, unit) == expected


def test_brackets_and_sentence_ends_never_double_the_punctuation():
    from methods.wording import end_sentence, in_brackets
    assert in_brackets("do not join the trend across 2014/15 Q1.") == "(do not join the trend across 2014/15 Q1)"
    assert in_brackets("fewer than 10 events") == "(fewer than 10 events)"
    assert in_brackets("and so on...") == "(and so on...)"
    assert end_sentence("withheld.") == "withheld." and end_sentence("withheld") == "withheld."
    assert end_sentence("(Q1)") == "(Q1)."
