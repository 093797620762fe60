"""The registry invariants (etl.checks.REGISTRY_INVARIANTS): a registry row that no parser emitted,
for a source loaded in the refresh, stops the refresh with the indicator named; so does an
observed indicator the registry lacks. Sources not loaded are not expected to emit anything."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from etl import checks, registry
from etl.errors import RefreshError

DFE = "dfe_cin_factors"


def _warehouse(observed: list[tuple[str, str]], loaded: list[str], not_loaded: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse holding only what the invariants read."""
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE sources (source_id VARCHAR)")
    for s in loaded:
        con.execute("INSERT INTO sources VALUES (?)", [s])
    con.execute("CREATE TABLE sources_not_loaded (source_id VARCHAR)")
    for s in not_loaded:
        con.execute("INSERT INTO sources_not_loaded VALUES (?)", [s])
    con.execute("CREATE TABLE observations (indicator_id VARCHAR, source_id VARCHAR, area_code VARCHAR)")
    con.executemany("INSERT INTO observations VALUES (?, ?, 'E92000001')", observed)
    return con


def _ids_of(source_id: str) -> list[str]:
    reg = registry.load_registry()
    return sorted(reg.index[(reg["source_id"] == source_id) & (reg["varies_by"] == "")])


def test_every_indicator_emitted_holds():
    dfe = _ids_of(DFE)
    assert len(dfe) == 12  # six factors, each a count and a rate per 10,000 children (registry rows)
    con = _warehouse([(i, DFE) for i in dfe] + [("gangs_local_siblings_10_17", "local_gang_working_estimates")],
                     loaded=[DFE, "local_gang_working_estimates"], not_loaded=["ho_prc_csp"])
    # a template's concrete id (age band) is registered; ho_prc_csp was not loaded; istv is not in
    # this warehouse at all: none of them is expected
    assert all(bad.empty for bad in checks.registry_violations(con).values())
    assert checks.registry_matches_observations(con) == []


def test_a_registry_row_no_parser_emitted_is_named():
    dfe = _ids_of(DFE)
    con = _warehouse([(i, DFE) for i in dfe if i != "dfe_cin_gangs_rate"], loaded=[DFE, "ho_prc_csp"],
                     not_loaded=[])
    bad = checks.registry_violations(con)["every registry indicator of a loaded source has observations"]
    # ho_prc_csp was loaded (a sources row) but emitted nothing: its one indicator is missing too
    assert list(zip(bad["indicator_id"], bad["source_id"], strict=True)) == [
        ("dfe_cin_gangs_rate", DFE), ("prc_possession_weapons", "ho_prc_csp")]
    problems = checks.registry_matches_observations(con)
    assert len(problems) == 1
    assert "dfe_cin_gangs_rate (source dfe_cin_factors, loaded in this refresh) has no observations" in problems[0]
    assert "2 indicator(s)" in problems[0]


def test_an_observed_indicator_the_registry_lacks_is_named():
    dfe = _ids_of(DFE)
    con = _warehouse([(i, DFE) for i in dfe] + [("dfe_cin_gangs_typo", DFE), ("national_x", "national_figures#rev1")],
                     loaded=[DFE], not_loaded=[])
    bad = checks.registry_violations(con)["every observed indicator is in the registry"]
    assert sorted(bad["indicator_id"]) == ["dfe_cin_gangs_typo", "national_x"]
    assert "national_figures" in set(bad["source_id"])  # the revision suffix is not part of the source
    assert "has observations but no row in data/indicators.csv" in checks.registry_matches_observations(con)[0]


def test_a_refresh_whose_parser_did_not_emit_a_registry_row_fails(mirror, tmp_path, monkeypatch):
    """Broken on purpose: the registry gains a police.uk indicator (burglary) no parser emits.
    The refresh of the fixture mirror fails at the checks naming it, and nothing is swapped in."""
    from etl.refresh import refresh
    from tests.fixture_mirror import build_fixture_mirror

    real = registry.load_registry()
    extra = real.loc[["police_uk_robbery"]].copy()
    extra["indicator_id"] = "police_uk_burglary"
    patched = pd.concat([real, extra.set_index(pd.Index(["police_uk_burglary"]), drop=False)])
    monkeypatch.setattr(checks, "load_registry", lambda: patched)
    src = build_fixture_mirror(mirror, tmp_path / "mirror")
    db = tmp_path / "wh" / "warehouse.duckdb"
    with pytest.raises(RefreshError) as err:
        refresh(src, db, quiet=True)
    message = str(err.value)
    assert "registry invariant broken (every registry indicator of a loaded source has observations)" in message
    assert "police_uk_burglary (source police_uk_street, loaded in this refresh) has no observations" in message
    assert not db.exists()


def test_a_finished_warehouse_is_not_held_to_a_later_registry():
    """Rollback and restore check a snapshot built earlier (it has `meta`): a registry row added
    since must not block going back; the refresh-time check is what holds parsers to the registry."""
    dfe = _ids_of(DFE)
    con = _warehouse([(i, DFE) for i in dfe if i != "dfe_cin_gangs_rate"], loaded=[DFE], not_loaded=[])
    assert checks.registry_matches_observations(con)
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    assert checks.registry_matches_observations(con) == []
