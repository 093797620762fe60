"""Which benchmarks a figure is set against, and when a recording problem stops a comparison."""
from __future__ import annotations

import pandas as pd
import pytest

from methods.benchmark import (
    NOT_COMPARED,
    choose_comparators,
    not_compared_by_registry,
    not_compared_for_recording,
    parse_comparator_kinds,
    recording_problem,
    registry_reason,
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


# ---------------------------------------------------------------- the registry decides the kinds
def test_registry_value_parses_to_kinds():
    assert parse_comparator_kinds("none") == ()
    assert parse_comparator_kinds("national;wales;local") == ("national", "wales", "local")
    assert parse_comparator_kinds("national;region") == ("national", "region")
    with pytest.raises(ValueError, match="force"):
        parse_comparator_kinds("national;force")


def test_none_gives_no_comparator_whatever_is_available():
    everything = {EW, ENG, WAL, TVP[0], SE[0]}
    for area_type in ("csp", "lad", "utla", "pfa", "region"):
        assert choose_comparators(area_type, ENG, everything, pfa=TVP, region=SE, kinds=()) == []


def test_police_uk_csp_national_wales_local():
    # police.uk CSP figures (registry 'national;wales;local'): E&W, Wales for a Welsh CSP, then the force;
    # the region is never offered though it has a value.
    kinds = parse_comparator_kinds("national;wales;local")
    assert roles(choose_comparators("csp", ENG, {EW, ENG, TVP[0], SE[0]}, pfa=TVP, region=SE, kinds=kinds)) == [
        ("national", EW), ("local", TVP[0])]
    assert roles(choose_comparators("csp", WAL, {EW, WAL, SWP[0]}, pfa=SWP, kinds=kinds)) == [
        ("national", EW), ("wales", WAL), ("local", SWP[0])]


def test_dfe_upper_tier_council_gets_england_and_its_region():
    # DfE children in need per council (registry 'national;region'): England (no E&W figure exists)
    # and the council's region; never the force, even where a force value exists.
    kinds = parse_comparator_kinds("national;region")
    got = choose_comparators("utla", ENG, {ENG, SE[0], TVP[0]}, pfa=TVP, region=SE, kinds=kinds)
    assert roles(got) == [("national", ENG), ("region", SE[0])]
    assert [c.name for c in got] == ["England", "South East"]
    # the region has no value for the period: England only, no other comparator in its place
    assert roles(choose_comparators("utla", ENG, {ENG, TVP[0]}, pfa=TVP, region=SE, kinds=kinds)) == [
        ("national", ENG)]
    # a Welsh area has no English region
    assert roles(choose_comparators("lad", WAL, {EW, ENG, SE[0]}, region=SE, kinds=kinds)) == [("national", EW)]


def test_national_only_publication_gets_only_the_nation():
    # HES by region (registry 'national'): a region figure against England only.
    assert roles(choose_comparators("region", ENG, {ENG, SE[0]}, region=SE, kinds=("national",))) == [
        ("national", ENG)]
    # a CSP figure whose registry says 'national' gets no force comparator
    assert roles(choose_comparators("csp", ENG, {EW, TVP[0]}, pfa=TVP, kinds=("national",))) == [("national", EW)]


def test_region_kind_is_for_local_figures_local_kind_for_force_figures():
    # ONS drug deaths (registry 'national;wales;region'): a district against E&W then its region;
    # a force figure is not set against its region by the 'region' kind (that is 'local').
    kinds = parse_comparator_kinds("national;wales;region")
    assert roles(choose_comparators("lad", ENG, {EW, SE[0], TVP[0]}, pfa=TVP, region=SE, kinds=kinds)) == [
        ("national", EW), ("region", SE[0])]
    assert roles(choose_comparators("pfa", ENG, {EW, SE[0]}, region=SE, kinds=kinds)) == [("national", EW)]
    # both kinds for a force figure give the region once
    assert roles(choose_comparators("pfa", ENG, {EW, SE[0]}, region=SE, kinds=("national", "local", "region"))) == [
        ("national", EW), ("local", SE[0])]


def test_not_compared_by_registry_says_why():
    reason = registry_reason("count", "utla")
    assert reason == "a count, not a rate: the indicator registry gives it no benchmark"
    assert registry_reason("estimate", "csp").startswith("an estimate, not a rate")
    assert registry_reason("crude_rate", "csp").startswith("no like-for-like benchmark is published")
    r = not_compared_by_registry(reason, "higher_is_worse")
    assert (r.significance, r.rating, r.reason) == (NOT_COMPARED, NOT_COMPARED, reason)
    assert r.phrase == "not compared (a count, not a rate: the indicator registry gives it no benchmark)"


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
