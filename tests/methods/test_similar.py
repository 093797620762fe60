"""Most similar areas (methods/similar.py) against distances worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from methods.similar import (
    DEFAULT_CHARACTERISTICS,
    Characteristic,
    distance_matrix,
    nearest_neighbours,
    standardise,
)

X = Characteristic("x", "g1", 1.0)
Y = Characteristic("y", "g2", 0.25)


def square() -> pd.DataFrame:
    # A (0,0), B (2,0), C (0,4), D (2,4)
    return pd.DataFrame({"x": [0.0, 2.0, 0.0, 2.0], "y": [0.0, 0.0, 4.0, 4.0]}, index=["A", "B", "C", "D"])


def test_z_scores_use_the_population_standard_deviation():
    # x: mean 1, sd sqrt(((1+1+1+1)/4)) = 1 -> -1, 1, -1, 1; y: mean 2, sd 2 -> -1, -1, 1, 1
    z = standardise(square(), [X, Y])
    assert z["x"].tolist() == [-1.0, 1.0, -1.0, 1.0]
    assert z["y"].tolist() == [-1.0, -1.0, 1.0, 1.0]


def test_weighted_euclidean_distance_by_hand():
    # d(A,B) = sqrt(1 x (1-(-1))^2) = 2; d(A,C) = sqrt(0.25 x 2^2) = 1; d(A,D) = sqrt(4 + 1) = sqrt 5;
    # d(B,C) = sqrt(4 + 1) = sqrt 5
    d, used = distance_matrix(standardise(square(), [X, Y]), [X, Y])
    assert d[0, 1] == pytest.approx(2.0)
    assert d[0, 2] == pytest.approx(1.0)
    assert d[0, 3] == pytest.approx(math.sqrt(5))
    assert d[1, 2] == pytest.approx(math.sqrt(5))
    assert np.isnan(d[0, 0]) and used[0, 1] == pytest.approx(1.25)


def test_nearest_neighbours_rank_by_distance_never_include_the_area_and_break_ties_by_code():
    got = nearest_neighbours(square(), [X, Y], k=2)
    a = got[got["area_code"] == "A"]
    assert a["neighbour_code"].tolist() == ["C", "B"]  # 1 then 2
    assert a["rank"].tolist() == [1, 2]
    assert (got["area_code"] != got["neighbour_code"]).all()
    # equal weights: B and C are both 2 from A -> the tie goes to the lower code, B
    even = nearest_neighbours(square(), [X, Characteristic("y", "g2", 1.0)], k=2)
    # y has sd 2, so in z units both B and C are 2 away from A; D is sqrt(8)
    assert even[even["area_code"] == "A"]["neighbour_code"].tolist() == ["B", "C"]
    # and the group does not depend on the order of the rows
    shuffled = nearest_neighbours(square().iloc[[3, 1, 2, 0]], [X, Characteristic("y", "g2", 1.0)], k=2)
    pd.testing.assert_frame_equal(even.reset_index(drop=True), shuffled.reset_index(drop=True))


def test_log_characteristics_are_compared_as_ratios():
    # log 10, log 100, log 1000 are equally spaced: z = -sqrt(3/2), 0, sqrt(3/2); d(10, 1000) = sqrt 6
    pop = Characteristic("pop", "size", 1.0, log=True)
    vals = pd.DataFrame({"pop": [10.0, 100.0, 1000.0]}, index=["P", "Q", "R"])
    z = standardise(vals, [pop])
    assert z["pop"].tolist() == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5)])
    d, _ = distance_matrix(z, [pop])
    assert d[0, 2] == pytest.approx(math.sqrt(6))
    with pytest.raises(ValueError, match="Q has 0"):
        standardise(pd.DataFrame({"pop": [10.0, 0.0]}, index=["P", "Q"]), [pop])


P = Characteristic("p", "core", 1.0, required=True)
Q = Characteristic("q", "optional", 1.0)


def with_gaps() -> pd.DataFrame:
    # A (0, 0); B (2, 2); C (0, -): no q, like a Welsh CSP without DfE factors; D (-, 5): no p,
    # a required characteristic, so D takes no part at all
    return pd.DataFrame({"p": [0.0, 2.0, 0.0, np.nan], "q": [0.0, 2.0, np.nan, 5.0]}, index=list("ABCD"))


def test_missing_characteristics_compare_on_what_both_have_scaled_to_the_full_weight():
    # p over A, B, C (D has none): 0, 2, 0 -> mean 2/3, sd sqrt(8/9); z_B - z_A = 2 / sqrt(8/9) = 3/sqrt 2
    # q over A, B: 0, 2 -> z = -1, 1
    # d(A,B) = sqrt(4.5 + 4) = sqrt 8.5 (both characteristics)
    # d(B,C) = sqrt((2 / 1) x 4.5) = 3   (p only: weight 1 of 2, so the sum is doubled)
    # d(A,C) = 0                          (equal on the only characteristic both have)
    got = nearest_neighbours(with_gaps(), [P, Q], k=5)
    assert "D" not in set(got["area_code"]) | set(got["neighbour_code"])
    dist = {(a, b): d for a, b, d in zip(got["area_code"], got["neighbour_code"], got["distance"], strict=True)}
    assert dist[("A", "B")] == pytest.approx(math.sqrt(8.5))
    assert dist[("B", "C")] == pytest.approx(3.0)
    assert dist[("A", "C")] == pytest.approx(0.0)
    used = {(a, b): u for a, b, u in zip(got["area_code"], got["neighbour_code"], got["characteristics_used"],
                                         strict=True)}
    assert used[("A", "B")] == "p,q" and used[("B", "C")] == "p"
    assert got[got["area_code"] == "B"]["neighbour_code"].tolist() == ["A", "C"]  # sqrt 8.5 < 3


def test_pairs_sharing_too_little_weight_are_not_compared():
    # C shares only p (half the weight) with the others: allowed at 0.5, refused above it
    got = nearest_neighbours(with_gaps(), [P, Q], k=5, min_weight_share=0.6)
    assert got[got["area_code"] == "C"].empty
    assert got[got["area_code"] == "A"]["neighbour_code"].tolist() == ["B"]


def test_fewer_areas_than_the_group_size_give_every_other_area():
    got = nearest_neighbours(square(), [X, Y], k=15)
    assert got.groupby("area_code").size().tolist() == [3, 3, 3, 3]


def test_a_characteristic_with_no_spread_separates_nobody():
    vals = square().assign(y=7.0)
    z = standardise(vals, [X, Y])
    assert (z["y"] == 0).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no column"):
        standardise(square(), [Characteristic("missing", "g", 1.0)])
    with pytest.raises(ValueError, match="twice"):
        nearest_neighbours(pd.concat([square(), square().iloc[[0]]]), [X, Y])
    with pytest.raises(ValueError, match="positive"):
        standardise(square(), [Characteristic("x", "g", 0.0)])


def test_the_default_weights_give_each_group_weight_one():
    groups: dict[str, float] = {}
    for c in DEFAULT_CHARACTERISTICS:
        groups[c.group] = groups.get(c.group, 0.0) + c.weight
        assert c.label and c.why
    assert groups == pytest.approx({"size": 1, "density": 1, "age": 1, "offence_mix": 1, "childrens_social_care": 1})
    assert {c.name for c in DEFAULT_CHARACTERISTICS if c.required} == {"population", "density"}
