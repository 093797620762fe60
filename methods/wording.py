"""The one place a figure's quality is put into words and a number is written out.

Why: the same meaning written in several places drifts ("SYNTHETIC - demonstration only" on a
badge, "Synthetic data - for demonstration only." in a sentence, another phrase on the map) and
a number printed as "14.0" in one table and "14" in another reads as two figures. Every page,
chart, map tooltip, sentence, CSV and printable profile calls `quality_wording` and
`format_number` / `format_value`; the indicator's multiplier and decimals come from its row of
the indicator registry (`data/indicators.csv`, carried in the warehouse `indicators` table;
`app.indicator_format` reads them from that row).

Pure functions, no I/O (methods/ may not read files): the app passes the registry values in.
"""
from __future__ import annotations

import math

# One text per quality. Every form below is made from it, so the words cannot drift apart.
QUALITY_TEXT = {
    "official": "official statistics",
    "modelled": "MODELLED estimate - not a published figure",
    "synthetic": "SYNTHETIC data - for demonstration only, not real figures",
    "local": "local data shared with the partnership",
    "unsourced": "NO OFFICIAL SOURCE - a figure as reported, not an official statistic",
}
# Qualities a chart title, map tooltip or sentence must warn about, in the order they are said.
WARNED = ("synthetic", "modelled")
FORMS = ("label", "warning", "sentence", "reason")


def quality_wording(quality: object, form: str = "label") -> str | None:
    """The words for a quality, in one of four forms:

    - 'label': for any quality, as shown in tables, badges and downloads ("official statistics",
      "SYNTHETIC data - for demonstration only, not real figures"); an unknown quality is
      returned as given, a missing one as "unknown quality".
    - 'warning': the label for the qualities that must be warned about (synthetic, modelled),
      else None: chart titles and map tooltips.
    - 'sentence': the warning as a sentence ("... not real figures."), else None.
    - 'reason': the warning in lower case to sit inside a phrase ("not compared with England &
      Wales (synthetic data - for demonstration only, not real figures)"), else None.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    q = quality if isinstance(quality, str) else ""
    if form == "label":
        return QUALITY_TEXT.get(q, q) if q else "unknown quality"
    if q not in WARNED:
        return None
    text = QUALITY_TEXT[q]
    if form == "sentence":
        return text + "."
    if form == "reason":
        first, rest = text.split(" ", 1)
        return f"{first.lower()} {rest}"
    return text


def quality_warnings(qualities: object) -> list[str]:
    """The warnings for every warned quality among `qualities` (an iterable, or one string that
    may join several with commas), synthetic first."""
    if isinstance(qualities, str):
        present = {s.strip() for s in qualities.split(",")}
    else:
        present = {q for q in (qualities or []) if isinstance(q, str)}  # type: ignore[union-attr]
    return [QUALITY_TEXT[q] for q in WARNED if q in present]


def without_full_stop(text: object) -> str:
    """`text` without its closing full stop (an ellipsis is kept), to sit inside a longer
    sentence: a note written as a sentence ("... do not join the trend across 2014/15 Q1.")."""
    inner = str(text).strip()
    if inner.endswith(".") and not inner.endswith("..."):
        inner = inner[:-1].rstrip()
    return inner


def in_brackets(text: object) -> str:
    """`text` in parentheses, its own closing full stop dropped: "(... 2014/15 Q1)" inside a
    sentence, never "(... Q1.)."."""
    return f"({without_full_stop(text)})"


def end_sentence(text: object) -> str:
    """`text` with one closing full stop: none added when it already ends a sentence ('.', '!',
    '?'), so a reason that is itself a sentence does not end "..". """
    body = str(text).rstrip()
    return body if body.endswith((".", "!", "?")) else f"{body}."


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def format_number(value: object, decimals: int = 1, *, multiplier: int = 1) -> str:
    """A number as the dashboard writes it: thousands separated; a count (multiplier 1) as a
    whole number ("14", never "14.0"); a rate or percentage with `decimals` places (the
    registry's). A missing value is "n/a"."""
    if _missing(value):
        return "n/a"
    v = float(value)  # type: ignore[arg-type]
    if int(multiplier) == 1:
        return f"{v:,.0f}"
    return f"{v:,.{int(decimals)}f}"


def per_words(multiplier: int) -> str:
    """What a value is per: 'per 100,000', 'per 10,000', '%' (per 100) or '' for counts."""
    m = int(multiplier)
    if m == 1:
        return ""
    return "%" if m == 100 else f"per {m:,}"


_PERCENT_WORDS = ("%", "percent", "per cent")


def with_unit(number: str, unit: object) -> str:
    """A written number followed by its unit words, as GSS/ONS style writes them: a percentage
    sign touches the number ("6.2%", "6.2% of children looked after", never "6.2 %"), and a
    unit given as 'percent' or 'per cent' is written with the sign; other units follow after a
    space ("158 assessment episodes"). A missing number ("n/a") or unit is left as it is."""
    words = unit.strip() if isinstance(unit, str) else ""
    if not words or number == "n/a":
        return number
    lower = words.lower()
    for sign in _PERCENT_WORDS:
        if lower == sign or lower.startswith(sign + " "):
            rest = words[len(sign):].strip()
            return f"{number}%" + (f" {rest}" if rest else "")
    return f"{number} {words}"


def format_value(value: object, multiplier: int = 100_000, decimals: int = 1) -> str:
    """A value with what it is per: '38.2 per 100,000', '62.3%', '14' (a count)."""
    number = format_number(value, decimals, multiplier=multiplier)
    per = per_words(multiplier)
    if not per or number == "n/a":
        return number
    return f"{number}%" if per == "%" else f"{number} {per}"
