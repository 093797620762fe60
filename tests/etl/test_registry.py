"""The indicator registry (data/indicators.csv, data/indicator_breaks.csv): checked at load,
the one source of every parser's indicator metadata, and the warehouse's `indicators` table."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etl import registry
from etl.errors import SourceError
from etl.staged import INDICATOR_COLUMNS

META = [c for c in INDICATOR_COLUMNS if c != "indicator_id"]


def _copy(tmp_path: Path, edit=None, breaks_edit=None) -> Path:
    """A copy of the registry (and its breaks file) with one edit applied."""
    df = pd.read_csv(registry.REGISTRY_PATH, dtype=str, keep_default_na=False)
    b = pd.read_csv(registry.BREAKS_PATH, dtype=str, keep_default_na=False)
    if edit:
        df = edit(df)
    if breaks_edit:
        b = breaks_edit(b)
    df.to_csv(tmp_path / "indicators.csv", index=False)
    b.to_csv(tmp_path / "indicator_breaks.csv", index=False)
    return tmp_path / "indicators.csv"


def _row_of(indicator_id: str) -> int:
    """The file line of an indicator's row (header = line 1), read from the file itself."""
    lines = registry.REGISTRY_PATH.read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(indicator_id + ","))


def test_registry_loads_and_holds_hand_checked_facts():
    reg = registry.load_registry()
    drugs = reg.loc["police_uk_drugs"]
    # Police-activity offences: no better/worse judgement; rates per 100,000 with one decimal.
    assert (drugs["polarity"], drugs["multiplier"], drugs["decimals"]) == ("none", "100000", "1")
    assert reg.at["police_uk_possession_of_weapons", "polarity"] == "none"
    assert reg.at["police_uk_robbery", "polarity"] == "higher_is_worse"
    # Episodes are not admissions: the HES measures say which episodes they count.
    assert reg.at["hes_sharp_object_assault_fae", "measure"] == "admission episodes"
    assert reg.at["hes_sharp_object_assault_fce", "measure"] == "consultant episodes"
    # Children's rates divide by children; counts divide by nothing and print whole.
    assert reg.at["dfe_cin_gangs_rate", "denominator"] == "0-17"
    assert reg.at["dfe_cin_gangs_rate", "multiplier"] == "10000"
    assert (reg.at["dfe_cin_gangs", "multiplier"], reg.at["dfe_cin_gangs", "decimals"]) == ("1", "0")
    assert reg.at["fingertips_90244_persons_18plus", "multiplier"] == "100"
    assert reg.at["county_lines__nca_networks", "nations"] == "UK"
    breaks = registry.breaks_for(["knife_offences_total"])
    thames = breaks[breaks["area_code"] == "E23000029"].iloc[0]  # Thames Valley
    assert (thames["break_date"], thames["affects"]) == (pd.Timestamp("2014-04-01"), "from")


@pytest.mark.parametrize(("column", "value"), [
    ("polarity", "lower_is_better"), ("multiplier", "1000"), ("nations", "Scotland"),
    ("comparators", "national;force"), ("comparators", "none;national"), ("comparators", "national;national"),
    ("comparators", ""), ("denominator", "11-16"), ("family", "weather"),
])
def test_an_unknown_value_names_file_row_and_column(tmp_path, column, value):
    def edit(df):
        df.loc[df["indicator_id"] == "police_uk_robbery", column] = value
        return df
    path = _copy(tmp_path, edit)
    with pytest.raises(SourceError) as err:
        registry.load_registry(path)
    e = err.value
    assert (e.file, e.column) == ("indicators.csv", column)
    assert e.row == _row_of("police_uk_robbery")
    assert value in str(e)


def test_a_missing_or_unknown_column_is_named(tmp_path):
    with pytest.raises(SourceError) as err:
        registry.load_registry(_copy(tmp_path, lambda df: df.drop(columns=["decimals"])))
    assert (err.value.file, err.value.column) == ("indicators.csv", "decimals")
    with pytest.raises(SourceError) as err:
        registry.load_registry(_copy(tmp_path, lambda df: df.assign(colour="red")))
    assert err.value.column == "colour"


def test_a_duplicate_indicator_and_a_count_with_a_multiplier_are_errors(tmp_path):
    with pytest.raises(SourceError, match="uniqueness") as err:
        registry.load_registry(_copy(tmp_path, lambda df: pd.concat([df, df.iloc[[3]]])))
    assert err.value.column == "indicator_id"

    def count_per_100k(df):
        df.loc[df["indicator_id"] == "dfe_cin_gangs", "multiplier"] = "100000"
        return df
    with pytest.raises(SourceError, match="multiplier 1 exactly for counts"):
        registry.load_registry(_copy(tmp_path, count_per_100k))


def test_a_break_for_an_unknown_indicator_names_the_breaks_file(tmp_path):
    def edit(b):
        b.loc[0, "indicator_id"] = "knife_offences_typo"
        return b
    with pytest.raises(SourceError) as err:
        registry.load_registry(_copy(tmp_path, breaks_edit=edit))
    assert (err.value.file, err.value.row, err.value.column) == ("indicator_breaks.csv", 2, "indicator_id")


def test_an_indicator_the_registry_lacks_is_a_clear_error():
    with pytest.raises(SourceError) as err:
        registry.indicator_rows(["police_uk_burglary"], source_id="police_uk_street")
    assert "police_uk_burglary" in str(err.value) and "data/indicators.csv" in str(err.value)
    assert (err.value.file, err.value.column) == ("indicators.csv", "indicator_id")


def test_template_rows_fill_the_age_band():
    out = registry.indicator_rows(["gangs_local_siblings_0_24"], source_id="local",
                                  fill={"gangs_local_siblings_0_24": {"age_band": "0-24"}})
    row = out.iloc[0]
    assert row["title"] == "Siblings of gang members (local working estimate), aged 0-24"
    assert "age band 0-24" in row["definition"] and "{" not in row["definition"]
    with pytest.raises(SourceError):  # the template itself is not an indicator
        registry.indicator_rows(["gangs_local_siblings"], source_id="local")


def test_every_warehouse_indicator_has_a_registry_row_and_vice_versa(real_warehouse):
    con = duckdb.connect(str(real_warehouse), read_only=True)
    try:
        held = con.execute("SELECT * FROM indicators").df().set_index("indicator_id")
        loaded = set(con.execute("SELECT source_id FROM sources").df()["source_id"])
    finally:
        con.close()
    reg = registry.load_registry()
    assert all(registry.registry_ids_for(i) is not None for i in held.index), \
        sorted(i for i in held.index if registry.registry_ids_for(i) is None)
    fixed = reg[reg["varies_by"] == ""]
    expected = set(fixed.loc[fixed["source_id"].isin(loaded), "indicator_id"])
    assert expected == set(held.index), (sorted(expected - set(held.index)), sorted(set(held.index) - expected))
    # The sources not in this build still emit exactly their registry rows.
    from etl.parsers import ho_prc_csp, ons_pfa_knife
    for src, ids in (("ons_pfa_knife_table", ons_pfa_knife.indicators("ons_pfa_knife_table")["indicator_id"]),
                     ("ho_prc_csp", ho_prc_csp.indicators("ho_prc_csp")["indicator_id"])):
        assert set(ids) == set(fixed.loc[fixed["source_id"] == src, "indicator_id"])
    # The warehouse carries the registry's metadata unchanged (only the definition of a rate
    # may gain the reporting years its file gives rates for).
    for ind, row in held.iterrows():
        r = reg.loc[ind]
        for col in META:
            want, got = r[col], row[col]
            if col == "definition":
                assert str(got).startswith(want), ind
            elif col == "is_health_source":
                assert bool(got) == (want == "true"), ind
            elif col in ("multiplier", "decimals"):
                assert int(got) == int(want), (ind, col)
            else:
                assert (None if want == "" else want) == (None if pd.isna(got) else got), (ind, col)


def test_comparators_follow_each_publication():
    """Which benchmarks each publication is set against (issue #10), checked by hand against its
    geography: survey-based national and modelled estimates, counts and national figures none;
    DfE children's social care per council: England and the council's region (DfE publishes
    both); HES by region: England; police.uk and Home Office force figures: England & Wales,
    Wales, then force / region; Fingertips and ONS drug deaths: England (& Wales) and region."""
    reg = registry.load_registry()
    c = reg["comparators"]
    assert c["gangs_modelled_gang_members_10_17"] == "none"
    assert c["gangs_cco_gang_members_10_17"] == "none"
    assert c["dfe_cin_gangs"] == "none" and c["drug_deaths_registered"] == "none"
    for ind in ("dfe_cin_gangs_rate", "dfe_cin_child_criminal_exploitation_rate", "dfe_cin_trafficking_rate",
                "dfe_cla_convicted_10_17"):
        assert c[ind] == "national;region", ind
    assert c["hes_sharp_object_assault_fae"] == "national"
    assert c["police_uk_robbery"] == "national;wales;local"
    assert c["knife_offences_total"] == "national;wales;local"
    assert c["fingertips_90284_persons_15"] == "national;region"
    assert c["drug_deaths_rate_3y"] == "national;wales;region"
    # every count, estimate and national figure is 'none' (the load-time rule below)
    flat = reg[reg["value_type"].isin(["count", "estimate"]) | reg["geography_level"].isin(["country", "national", "uk"])]
    assert len(flat) > 60 and set(flat["comparators"]) == {"none"}


@pytest.mark.parametrize(("indicator_id", "value", "words"), [
    ("dfe_cin_gangs", "national", "a count is not compared"),
    ("gangs_modelled_gang_members_10_17", "national;region", "an estimate is not compared"),
    ("dfe_cin_gangs_rate", "national;wales;region", "'wales' for a publication covering England only"),
])
def test_comparators_that_cannot_count_like_the_figure_are_refused(tmp_path, indicator_id, value, words):
    def edit(df):
        df.loc[df["indicator_id"] == indicator_id, "comparators"] = value
        return df
    with pytest.raises(SourceError, match=words) as err:
        registry.load_registry(_copy(tmp_path, edit))
    assert (err.value.file, err.value.row, err.value.column) == ("indicators.csv", _row_of(indicator_id),
                                                                 "comparators")
