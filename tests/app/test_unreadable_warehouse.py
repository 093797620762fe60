"""A corrupt (random bytes), empty (0 bytes) or half-written (truncated) warehouse file gives every
page the message "the warehouse file cannot be read" with the commands to run, never a traceback
or the file's path; when a good file comes back (swapped in, or rewritten in place) the pages
work again on the next run: a bad file's verdict and connection are not kept for the good one.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import queries as q
from etl.refresh import refresh
from tests.fixture_mirror import build_fixture_mirror

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["dashboard.py", "pages/1_Area_profile.py", "pages/2_Map.py", "pages/3_Compare.py",
         "pages/4_Data_and_sources.py", "pages/5_AE_ISTV.py"]


@pytest.fixture(scope="module")
def good_wh(mirror, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("goodwh")
    db = base / "wh" / "warehouse.duckdb"
    refresh(build_fixture_mirror(mirror, base / "mirror"), db, quiet=True)
    return db


def make_bad(kind: str, good: Path, target: Path) -> None:
    data = good.read_bytes()
    if kind == "corrupt":
        target.write_bytes(os.urandom(len(data)))
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "truncated":  # header and catalogue intact, the data blocks cut off
        target.write_bytes(data[: len(data) // 2])
    elif kind == "truncated_tail":  # only the last 1,000 bytes missing
        target.write_bytes(data[:-1000])
    else:
        raise AssertionError(kind)


BAD = ["corrupt", "empty", "truncated", "truncated_tail"]


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "live" / "warehouse.duckdb"
    path.parent.mkdir()
    monkeypatch.setenv("SVD_DB", str(path))
    return path


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    at.run()
    return at


def assert_unreadable_message(at: AppTest, live: Path) -> None:
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith("The warehouse file cannot be read: ")
    assert "`python -m etl rollback`" in errors[0] and f"`{q.BUILD_COMMAND}`" in errors[0]
    assert str(live) not in errors[0] and str(live.parent) not in errors[0]
    assert not at.dataframe and not at.get("plotly_chart")


@pytest.mark.parametrize("kind", BAD)
def test_problem_named_for_each_bad_file(good_wh: Path, live: Path, kind: str) -> None:
    make_bad(kind, good_wh, live)
    problem = q.warehouse_problem()
    assert problem is not None
    expected = {"corrupt": "not a readable warehouse", "empty": "empty (0 bytes)",
                "truncated": "incomplete", "truncated_tail": "incomplete"}[kind]
    assert expected in problem
    shutil.copyfile(good_wh, live)
    assert q.warehouse_problem() is None


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", BAD)
def test_every_page_says_the_file_cannot_be_read(good_wh: Path, live: Path, kind: str, page: str) -> None:
    make_bad(kind, good_wh, live)
    assert_unreadable_message(run(page), live)


@pytest.mark.parametrize("how", ["swapped_in", "rewritten_in_place"])
@pytest.mark.parametrize("kind", BAD)
def test_pages_recover_when_a_good_file_returns(good_wh: Path, live: Path, kind: str, how: str) -> None:
    make_bad(kind, good_wh, live)
    assert_unreadable_message(run("dashboard.py"), live)
    if how == "swapped_in":  # as a refresh or rollback does: a new file renamed over the old one
        tmp = live.with_suffix(".new")
        shutil.copyfile(good_wh, tmp)
        os.replace(tmp, live)
    else:  # same inode, new contents
        shutil.copyfile(good_wh, live)
    for page in ("dashboard.py", "pages/4_Data_and_sources.py"):
        at = run(page)
        assert not at.exception, [e.message for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert at.dataframe  # real content, not a message


def test_read_failing_mid_page_outside_streamlit_raises_a_named_error(good_wh: Path, live: Path) -> None:
    """Outside a page run (scripts, tests) a bad file is an exception naming the problem."""
    make_bad("truncated", good_wh, live)
    with pytest.raises(q.WarehouseUnreadable, match="incomplete"):
        q._stop_unreadable(OSError("read failed"))
