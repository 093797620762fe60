"""Which benchmarks a figure is set against, and when a recording problem stops a comparison."""
from __future__ import annotations

import pandas as pd

from methods.benchmark import (
    NOT_COMPARED,
    choose_comparators,
    not_compared_for_recording,
    recording_problem,
)

EW, ENG, WAL = "K04000001", "E92000001", "W92000004"
TVP = ("E23000029", "Thames Valley")
SE = ("E12000008", "South East")
SWP = ("W15000003", "South Wales")


def roles(comps):
    return [(c.role, c.code) for c in comps]


def test_england_and_wales_is_chosen_by_code_whatever_the_order():
    # England's code sorts before England & Wales': the choice must not depend on it.
    for available in ([ENG, EW, TVP[0]], [EW, TVP[0], ENG]):
        got = choose_comparators("csp", ENG, set(available), pfa=TVP, region=SE)
        assert roles(got) == [("national", EW), ("local", TVP[0])]
        assert got[0].name == "England & Wales"


def test_welsh_areas_get_england_and_wales_plus_wales_never_england():
    got = choose_comparators("csp", WAL, {EW, ENG, WAL, SWP[0]}, pfa=SWP)
    assert roles(got) == [("national", EW), ("wales", WAL), ("local", SWP[0])]
    # an England-only publication gives a Welsh area no national comparator
    assert roles(choose_comparators("pfa", WAL, {ENG})) == []


def test_england_only_publications_use_england():
    assert roles(choose_comparators("pfa", ENG, {ENG, SE[0]}, region=SE)) == [("national", ENG), ("local", SE[0])]


def test_force_for_local_figures_region_for_force_figures():
    assert roles(choose_comparators("lad", ENG, {EW, TVP[0], SE[0]}, pfa=TVP, region=SE))[1] == ("local", TVP[0])
    assert roles(choose_comparators("pfa", ENG, {EW, TVP[0], SE[0]}, pfa=TVP, region=SE))[1] == ("local", SE[0])
    # no value for the force: no local comparator rather than another one
    assert roles(choose_comparators("csp", ENG, {EW, SE[0]}, pfa=TVP, region=SE)) == [("national", EW)]


BREAKS = pd.DataFrame({
    "area_code": ["E23000029", "E23000005", "K04000001"],
    "break_date": pd.to_datetime(["2014-04-01", "2018-04-01", "2014-04-01"]),
    "affects": ["from", "before", None],
    "description": ["Thames Valley low from 2014/15", "Greater Manchester under-counted before 2018/19",
                    "Includes Thames Valley: low from 2014/15"],
})


def test_recording_problem_follows_the_affected_side_of_the_break():
    assert recording_problem(BREAKS, "E23000029", "2018-04-01", "2019-03-31") == "Thames Valley low from 2014/15"
    assert recording_problem(BREAKS, "E23000029", "2013-04-01", "2014-03-31") is None
    assert recording_problem(BREAKS, "E23000005", "2017-04-01", "2018-03-31").startswith("Greater Manchester")
    assert recording_problem(BREAKS, "E23000005", "2018-04-01", "2019-03-31") is None
    # a total that only includes an affected force is still compared (marked on charts)
    assert recording_problem(BREAKS, "K04000001", "2018-04-01", "2019-03-31") is None
    assert recording_problem(BREAKS, "E23000001", "2018-04-01", "2019-03-31") is None


def test_recording_problem_result_says_why():
    r = not_compared_for_recording("England & Wales", "Thames Valley low from 2014/15", "higher_is_worse")
    assert (r.significance, r.rating) == (NOT_COMPARED, NOT_COMPARED)
    assert r.reason == "recording change: Thames Valley low from 2014/15"
    assert r.phrase == "not compared with England & Wales (recording change: Thames Valley low from 2014/15)"
