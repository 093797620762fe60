"""A partnership's own working estimate, dropped into the sources folder, appears on its profile
beside the modelled figure, labelled `local`; other partnerships say none was supplied."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.safe_text import as_shown
from etl.refresh import refresh
from tests.fixture_mirror import build_fixture_mirror

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_wh(mirror, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("local")
    src = build_fixture_mirror(mirror, base / "mirror")
    (src / "local").mkdir()
    (src / "local" / "gang_working_estimates_oxford.csv").write_text(
        "csp_code,period_label,measure,count,age_band,notes,supplied_by,supplied_on\n"
        "E22000308,2023/24,gang_members,41,10-17,Partnership tracker,Oxford CSP,2024-05-01\n", encoding="utf-8")
    db = base / "wh" / "warehouse.duckdb"
    refresh(src, db, quiet=True)
    return db


def profile_text(area: str) -> str:
    at = AppTest.from_file(str(ROOT / "pages/1_Area_profile.py"), default_timeout=120)
    at.query_params["area"] = area
    at.run()
    assert not at.exception
    return as_shown("\n".join(m.value for m in at.markdown))  # as read (app.safe_text escapes)


def test_local_estimate_sits_beside_the_modelled_one(local_wh, monkeypatch):
    monkeypatch.setenv("SVD_DB", str(local_wh))
    oxford = profile_text("E22000308")
    assert "Children in gangs (local working estimate), aged 10-17** - Community Safety Partnership: Oxford, 2023/24: " \
           "**41** children :violet-badge[local data shared with the partnership]" in oxford
    assert "modelled from the national estimate" in oxford
    canterbury = profile_text("E22000138")
    assert "no local working estimate supplied by this partnership" in canterbury
