"""Numbers written from an indicator's registry row (app.indicator_format): hand-worked strings
for rows as the warehouse's `indicators` table holds them (data/indicators.csv)."""
from __future__ import annotations

import pandas as pd

from app import indicator_format as f

# As in data/indicators.csv: police.uk robbery (per 100,000, 1 decimal), DfE assessments citing
# gangs (a count), DfE rate per 10,000 children, Fingertips completion (%), a modelled count.
ROBBERY = {"multiplier": 100_000, "decimals": 1, "value_type": "crude_rate"}
EPISODES = {"multiplier": 1, "decimals": 0, "value_type": "count"}
PER_10K = {"multiplier": 10_000, "decimals": 1, "value_type": "crude_rate"}
PERCENT = {"multiplier": 100, "decimals": 1, "value_type": "percentage"}
DSR = {"multiplier": 100_000, "decimals": 1, "value_type": "standardised_rate"}
MODELLED = {"multiplier": 1, "decimals": 0, "value_type": "estimate"}


def test_numbers_follow_the_registry_row():
    assert f.number(14.0, EPISODES) == "14"
    assert f.number(1234.0, EPISODES) == "1,234"
    assert f.number(23.456, ROBBERY) == "23.5"
    assert f.figure(23.456, ROBBERY) == "23.5 per 100,000"
    assert f.figure(49.96, PER_10K) == "50.0 per 10,000"
    assert f.figure(13.3028, PERCENT) == "13.3%"
    assert f.figure(14.0, EPISODES) == "14"
    assert f.number(None, ROBBERY) == "n/a"
    assert f.d3_format(EPISODES) == ",.0f" and f.d3_format(ROBBERY) == ",.1f"


def test_a_frame_row_works_like_a_mapping():
    row = pd.Series({"value": 630.0, **MODELLED})
    assert f.number(row["value"], row) == "630"


def test_rates_and_crude_rates_from_the_value_type():
    assert f.is_rate(ROBBERY) and f.is_rate(PERCENT) and f.is_rate(DSR)
    assert not f.is_rate(EPISODES) and not f.is_rate(MODELLED)
    assert f.is_crude_rate(ROBBERY) and not f.is_crude_rate(DSR) and not f.is_crude_rate(PERCENT)


def test_registry_of_takes_the_first_row_with_a_value():
    frame = pd.DataFrame({"area_code": ["A", "B"], "multiplier": [None, 100_000], "decimals": [None, 1],
                          "value_type": [None, "crude_rate"]})
    assert f.registry_of(frame) == {"multiplier": 100_000, "decimals": 1, "value_type": "crude_rate"}
    assert f.registry_of(pd.DataFrame({"area_code": ["A"]})) is None


def test_quality_label_is_the_one_wording():
    assert f.quality_label("synthetic") == "SYNTHETIC data - for demonstration only, not real figures"
    assert f.quality_label(None) == "unknown quality"


def test_value_with_its_unit_words_from_the_row():
    # data/indicators.csv: DfE looked-after outcomes (unit "%"), Fingertips ("percent of children
    # looked after"), police.uk rates, DfE assessment counts
    assert f.with_unit_words(6.24, {**PERCENT, "unit": "%"}) == "6.2%"
    assert f.with_unit_words(5.0, {**PERCENT, "unit": "percent of children looked after"}) == \
        "5.0% of children looked after"
    assert f.with_unit_words(12345.0, {**EPISODES, "unit": "assessment episodes"}) == "12,345 assessment episodes"
    assert f.with_unit_words(38.24, ROBBERY, unit="offences per 100,000 population") == \
        "38.2 offences per 100,000 population"


def test_every_rate_unit_says_per_what_right_after_the_number():
    """A rate written with its registry unit must read as a rate at once: "31.9 offences in the
    month; rate per 100,000 residents" (the police.uk unit before the fix) reads as 31.9 offences,
    which a partnership lead copies into a board paper as a count. Each rate indicator's unit, up
    to any ';', must carry its 'per <multiplier>' (or be a percentage)."""
    import pathlib

    reg = pd.read_csv(pathlib.Path(__file__).parents[2] / "data" / "indicators.csv")
    bad = []
    for _, row in reg[reg["multiplier"] > 1].iterrows():
        first_clause = f.with_unit_words(31.9, row).split(";")[0]
        per = f"per {int(row['multiplier']):,}"
        if not (per in first_clause or "%" in first_clause or "percent" in first_clause):
            bad.append((row["indicator_id"], first_clause))
    assert bad == []
    police = reg[reg["indicator_id"] == "police_uk_robbery"].iloc[0]
    assert f.with_unit_words(6.9, police) == "6.9 offences per 100,000 residents in the month"
