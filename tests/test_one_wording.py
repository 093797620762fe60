"""Meaning is written once: quality words only in methods/wording.py, units, multipliers and
decimals only in the indicator registry (data/indicators.csv) and read through
app/indicator_format.py. A grep over the code finds any copy that creeps back."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = [p for folder in ("app", "pages", "methods", "etl") for p in (ROOT / folder).rglob("*.py")] + [ROOT / "dashboard.py"]
WORDING = ROOT / "methods" / "wording.py"

# Each quality's words (and the variants that used to be written beside them).
QUALITY_PHRASES = [
    "for demonstration only", "not a published figure", "not real data", "not real figures",
    "a figure as reported, not an official statistic", "local data shared with the partnership",
    "SYNTHETIC - demonstration only", "MODELLED estimate", "This is a modelled estimate",
]
# Old per-module tables and readers of a unit's words.
OLD_NAMES = ["QUALITY_LABELS", "QUALITY_TITLES", "QUALITY_WARNINGS", "QUALITY_NOTES", "RATE_UNITS",
             "is_rate_unit", "per_for", "unit_is_crude_rate", "KNOWN_INDICATORS", "SeriesInfo"]
UNIT_READING = re.compile(r"""["'](?:per 100,000|per 10,000|%|percent|dsr)["']\s+(?:not\s+)?in\b""")


def _text(p: Path) -> str:
    return p.read_text(encoding="utf-8")


@pytest.mark.parametrize("phrase", QUALITY_PHRASES)
def test_quality_words_are_written_only_in_methods_wording(phrase):
    assert phrase in _text(WORDING) or phrase in ("SYNTHETIC - demonstration only", "This is a modelled estimate",
                                                 "not real data")
    offenders = [str(p.relative_to(ROOT)) for p in CODE if p != WORDING and phrase.lower() in _text(p).lower()]
    assert not offenders, f"{phrase!r} written outside methods/wording.py: {offenders}"


@pytest.mark.parametrize("name", OLD_NAMES)
def test_old_duplicate_helpers_are_gone(name):
    offenders = [str(p.relative_to(ROOT)) for p in CODE if re.search(rf"\b{name}\b", _text(p))]
    assert not offenders, f"{name} still defined or used in {offenders}"


def test_no_module_reads_a_units_words_to_know_what_it_is():
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in CODE for m in UNIT_READING.finditer(_text(p))]
    assert not offenders, offenders


def test_no_parser_writes_a_polarity():
    """Polarity is registry data: a parser that writes one in code has a second copy."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "etl" / "parsers").rglob("*.py")
                 if re.search(r"""["']polarity["']\s*:""", _text(p))]
    assert not offenders, offenders
