"""How a national figure is cited on screen: the producer's release first (producer, title,
date, table), the page that quoted it as "as reported by".

Why a module: a committee clerk checks a figure against the producer's release, not against
the newspaper or briefing that repeated it, so every card, chart caption and table must cite
the same way; and the words come from files, so they are escaped here before they reach
markdown (a title with `*`, `[` or `:red[...]` must show as text, never as formatting).
Imports: pandas only. No streamlit, no SQL.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from app.safe_text import md

MAX_RELEASES = 6


def _true(value: object) -> bool:
    """A flag from a frame row: True only for a real true value (missing is not true)."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def _url(url: object) -> str | None:
    u = url.strip() if isinstance(url, str) else ""
    if not re.match(r"https?://", u):
        return None
    return u.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _has(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def date_words(value: object) -> str:
    """'2019-09-19' -> '19 Sep 2019', '2020-09' -> 'Sep 2020', '2017' -> '2017'."""
    text = value.strip() if isinstance(value, str) else ""
    for fmt, out in (("%Y-%m-%d", "%-d %b %Y"), ("%Y-%m", "%b %Y")):
        try:
            return pd.to_datetime(text, format=fmt).strftime(out)
        except ValueError:
            continue
    return text


def release(r: Mapping[str, Any]) -> str | None:
    """'Producer, *Release title* (19 Sep 2019, table ...)' as markdown, or None when unknown."""
    if not _has(r.get("producer")):
        return None
    title = md(r["release_title"]) if _has(r.get("release_title")) else "release not identified"
    link = _url(r.get("release_url"))
    title = f"[*{title}*]({link})" if link else f"*{title}*"
    details = [date_words(r["release_date"]) if _has(r.get("release_date")) else "date not known"]
    if _has(r.get("release_table")):
        details.append(f"table: {md(r['release_table'])}")
    if _has(r.get("origin_confidence")) and r["origin_confidence"] != "confirmed":
        details.append(f"origin {md(r['origin_confidence'])}, not confirmed")
    return f"{md(r['producer'])}, {title} ({'; '.join(details)})"


def reported_by(r: Mapping[str, Any]) -> str:
    title = md(r["source_title"]) if _has(r.get("source_title")) else "the quoting page"
    link = _url(r.get("source_url"))
    return f"[{title}]({link})" if link else title


def cite(r: Mapping[str, Any]) -> str:
    """One figure's citation in markdown: producer's release first, then "as reported by"; a
    figure with no official source says so first; a corrected label follows."""
    if _true(r.get("no_official_source")):
        text = f"**No official source**: as reported by {reported_by(r)}."
    elif (rel := release(r)) is not None:
        text = f"Source: {rel}, as reported by {reported_by(r)}."
    else:  # a figure loaded from the producer's own file: its source is the release itself
        who = f" ({md(r['publisher'])})" if _has(r.get("publisher")) else ""
        text = f"Source: {reported_by(r)}{who}."
    if _has(r.get("correction")):
        text += f" Correction: {md(r['correction'])}."
    return text


def hover_source(r: Mapping[str, Any]) -> str:
    """Plain text for a chart point's hover: the release first, then "as reported by" (angle
    brackets dropped: plotly reads a few HTML tags in hover text)."""
    page = r["source_title"] if _has(r.get("source_title")) else "the quoting page"
    if _true(r.get("no_official_source")):
        text = f"No official source; as reported by {page}"
    elif _has(r.get("producer")):
        title = r["release_title"] if _has(r.get("release_title")) else "release not identified"
        date = f" ({date_words(r['release_date'])})" if _has(r.get("release_date")) else ""
        text = f"{r['producer']}: {title}{date}; as reported by {page}"
    else:
        text = page
    return re.sub(r"[<>]", "", " ".join(text.split()))


def chart_sources(df: pd.DataFrame) -> str:
    """The releases behind the points of a national chart, producer's release first."""
    if df.empty:
        return "No national figures."
    seen: dict[str, list[str]] = {}
    for r in df.to_dict("records"):
        rel = ("**No official source**" if _true(r.get("no_official_source"))
               else release(r) or reported_by(r))
        pages = seen.setdefault(rel, [])
        page = reported_by(r)
        if release(r) is not None and page not in pages:
            pages.append(page)
    parts = [f"{rel}, as reported by {', '.join(pages)}" if pages else rel
             for rel, pages in list(seen.items())[:MAX_RELEASES]]
    more = len(seen) - MAX_RELEASES
    tail = f"; and {more} more releases in the table" if more > 0 else ""
    return "Sources (producer's release first): " + "; ".join(parts) + tail + "."
