"""Secondary suppression across the area hierarchy: hand-worked cases and a differencing
attack by an independent linear programme over every published combination."""
import numpy as np
import pandas as pd

from methods.disclosure import (
    REASON_HIERARCHY,
    REASON_SMALL,
    apply_disclosure_control,
    hierarchy_sums,
    protect_hierarchy,
)
from tests.disclosure_attack import attack_sums

# England > regions London, South West > boroughs/districts
LINKS = pd.DataFrame([
    ("CITY", "LONDON"), ("WESTMINSTER", "LONDON"), ("CAMDEN", "LONDON"), ("HACKNEY", "LONDON"),
    ("BRISTOL", "SW"), ("BATH", "SW"), ("SCILLY", "SW"),
    ("LONDON", "ENGLAND"), ("SW", "ENGLAND"),
], columns=["child_code", "parent_code"])
TYPES = {"ENGLAND": "country", "LONDON": "region", "SW": "region"}


def figures(counts: dict[str, float | None], reasons: dict[str, str] | None = None) -> pd.DataFrame:
    codes = list(counts)
    return pd.DataFrame({
        "indicator_id": "x", "period_type": "financial_year", "period_label": "2023/24",
        "area_code": codes, "area_type": [TYPES.get(c, "lad") for c in codes],
        "count": [np.nan if counts[c] is None else counts[c] for c in codes],
        "value": [np.nan if counts[c] is None else counts[c] / 10 for c in codes],
        "suppressed_reason": [(reasons or {}).get(c) for c in codes],
        "is_health_source": True,
    })


def controlled(counts, reasons=None) -> pd.DataFrame:
    raw = figures(counts, reasons)
    primary = apply_disclosure_control(raw, rate_col=None)
    return protect_hierarchy(primary, LINKS, truth=raw["count"]).set_index("area_code")


def test_sums_found_through_chains_of_links():
    df = figures({"ENGLAND": 1, "LONDON": 1, "SW": 1, "CITY": 1, "CAMDEN": 1, "BATH": 1})
    sums = {(p, tuple(sorted(k))) for p, k in hierarchy_sums(df, LINKS)}
    assert sums == {
        ("ENGLAND", ("LONDON", "SW")), ("ENGLAND", ("BATH", "CAMDEN", "CITY")),
        ("LONDON", ("CAMDEN", "CITY")), ("SW", ("BATH",)),
    }


def test_city_of_london_not_recoverable_from_london_minus_the_other_boroughs():
    # London 405 = City 5 + Westminster 200 + Camden 60 + Hackney 140.
    # City (5) is suppressed; London - the rest would give it back, so the smallest other
    # borough (Camden, 60) goes too. England 905 = London 405 + South West 500 has nothing
    # suppressed among its regions and stays.
    out = controlled({"ENGLAND": 905, "LONDON": 405, "SW": 500, "CITY": 5, "WESTMINSTER": 200,
                      "CAMDEN": 60, "HACKNEY": 140})
    assert out.loc["CITY", "suppressed_reason"] == REASON_SMALL
    assert out.loc["CAMDEN", "suppressed_reason"] == REASON_HIERARCHY
    assert np.isnan(out.loc["CAMDEN", "value"])
    assert out["count"].isna().sum() == 2
    assert out.loc["LONDON", "count"] == 405 and out.loc["WESTMINSTER", "count"] == 200


def test_no_secondary_when_the_parent_is_not_shown_or_two_children_are_hidden():
    # No London figure: nothing to subtract from.
    out = controlled({"CITY": 5, "WESTMINSTER": 200, "CAMDEN": 60})
    assert out["count"].isna().sum() == 1
    # Two boroughs small: London - the rest gives only their sum (5 + 6 = 11).
    out = controlled({"LONDON": 411, "CITY": 5, "WESTMINSTER": 200, "CAMDEN": 6, "HACKNEY": 200})
    assert out["count"].isna().sum() == 2


def test_region_publisher_suppressed_is_not_england_minus_the_other_regions():
    # The publisher withheld the South West (reason kept). England - London would give it back:
    # the other region has to go. London is then recoverable from its own boroughs, which are
    # all shown, so one borough (the smallest, Hackney 40) goes as well.
    out = controlled({"ENGLAND": 410, "LONDON": 400, "SW": None, "WESTMINSTER": 360, "HACKNEY": 40},
                     reasons={"SW": "suppressed by the publisher"})
    assert out.loc["SW", "suppressed_reason"] == "suppressed by the publisher"
    assert out.loc["LONDON", "suppressed_reason"] == REASON_HIERARCHY
    assert out.loc["HACKNEY", "suppressed_reason"] == REASON_HIERARCHY
    assert out.loc["WESTMINSTER", "count"] == 360 and out.loc["ENGLAND", "count"] == 410


def test_a_level_that_does_not_tile_its_parent_is_no_sum():
    # A level that covers only part of its parent (counties without the unitaries) gives no
    # sum: England 1,000 minus London 305 is 695 of other places, not a suppressed count.
    # Only London = its boroughs is a sum, so Camden goes to protect Hackney.
    out = controlled({"ENGLAND": 1000, "LONDON": 305, "HACKNEY": 5, "CAMDEN": 300})
    assert out.loc["CAMDEN", "suppressed_reason"] == REASON_HIERARCHY
    assert out.loc["ENGLAND", "count"] == 1000


def test_each_period_is_its_own_table():
    a = figures({"LONDON": 405, "CITY": 5, "WESTMINSTER": 200, "CAMDEN": 60, "HACKNEY": 140})
    b = figures({"LONDON": 500, "CITY": 50, "WESTMINSTER": 200, "CAMDEN": 110, "HACKNEY": 140})
    b["period_label"] = "2024/25"
    raw = pd.concat([a, b], ignore_index=True)
    out = protect_hierarchy(apply_disclosure_control(raw, rate_col=None), LINKS, truth=raw["count"])
    assert out["count"].isna().sum() == 2
    assert out[out["period_label"] == "2024/25"]["count"].notna().all()


def _attack(published: pd.Series, truth: pd.Series, sums) -> dict[str, tuple[float, float]]:
    """The attacker (tests/disclosure_attack.py): every parent = sum of its children."""
    return attack_sums(published, sums, truth=truth)


def test_every_published_combination_leaves_each_suppressed_count_unknown():
    # Three levels, small counts in both regions, one region small enough to be suppressed.
    boroughs = {"CITY": 3, "WESTMINSTER": 250, "CAMDEN": 90, "HACKNEY": 120}
    west = {"BRISTOL": 9, "BATH": 2, "SCILLY": 1}
    truth = pd.Series({**boroughs, **west, "LONDON": sum(boroughs.values()), "SW": sum(west.values()),
                       "ENGLAND": sum(boroughs.values()) + sum(west.values())}, dtype=float)
    df = figures(truth.to_dict())
    out = protect_hierarchy(apply_disclosure_control(df, rate_col=None), LINKS, truth=df["count"]).set_index("area_code")
    published = out["count"]
    # the user's sums: every parent with every level of children below it (England = regions,
    # England = districts, region = districts)
    sums = [("LONDON", list(boroughs)), ("SW", list(west)), ("ENGLAND", ["LONDON", "SW"]),
            ("ENGLAND", list(boroughs) + list(west))]
    attacked = _attack(published, truth, sums)
    small = truth.index[truth.between(1, 7)]
    assert set(small) <= set(attacked)
    for name, (lo, hi) in attacked.items():
        assert hi - lo > 0.5, f"{name} recoverable: {lo} to {hi}"
    # what is still shown is the true figure
    shown = published.dropna()
    assert (shown == truth[shown.index]).all()
