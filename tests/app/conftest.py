"""Fixtures for page tests: `wh` points the app at the real warehouse built once per run (a test
module may override `wh` to point at a warehouse of its own, as test_hostile_text does)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def wh(real_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVD_DB", str(real_warehouse))
    return real_warehouse
