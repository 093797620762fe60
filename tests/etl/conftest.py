"""Fixtures for the parser tests: `pop` and `geog`, the real ONS population and geography parsed
once per run (tests/conftest.py's `real_pop` and `real_geography`; read only, shared)."""
from __future__ import annotations

import pytest


@pytest.fixture
def pop(real_pop):
    return real_pop


@pytest.fixture
def geog(real_geography):
    return real_geography
