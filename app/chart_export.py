"""A chart that leaves the page keeps its lineage: the source line, period and quality are drawn
into the figure itself, the modebar's camera button saves it as a PNG named after the chart,
and the numbers behind it are a table (CSV) beside it.

Why: a chart pasted into a committee paper is read without the page around it, so what the
caption says (publisher, period, official / MODELLED / SYNTHETIC) must be inside the picture.
plotly's own download renders the figure as it is, so an annotation is all it takes; the same
layout is what a test can read back. No streamlit here (pure functions); app.ui.chart applies
them to every chart.
Imports: re, pandas, plotly, app.disclosure_view.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from app.disclosure_view import quality_label

LINEAGE_NAME = "svd-lineage"  # the annotation's name, so it is added once and a test can find it
NOT_A_VALUE = "not a value"  # trace.meta of a trace drawn only as a marking (app.figures.count_bars)
LINE_SPACE = 14  # pixels added below the plot for each line of the lineage text (11px)


def _unique(values: pd.Series, limit: int) -> str:
    seen = [str(v) for v in dict.fromkeys(values.dropna()) if str(v).strip()]
    more = len(seen) - limit
    return ", ".join(seen[:limit]) + (f" and {more} more" if more > 0 else "")


def lineage_text(data: pd.DataFrame | None) -> str:
    """'Source: <publisher>, <source>. Period: <first> to <last>. Quality: <labels>.' from the
    frame behind a chart (the columns it has of publisher, source_title, period_label, quality)."""
    if data is None or data.empty:
        return "Source and quality: see the table beside this chart on the dashboard."
    parts = []
    publisher = _unique(data["publisher"], 2) if "publisher" in data else ""
    source = _unique(data["source_title"], 2) if "source_title" in data else ""
    if publisher or source:
        parts.append("Source: " + "; ".join(p for p in (publisher, source) if p) + ".")
    if "period_label" in data and data["period_label"].notna().any():
        ordered = data.sort_values("period_start") if "period_start" in data else data
        labels = [str(v) for v in ordered["period_label"].dropna()]
        parts.append(f"Period: {labels[0]}" + (f" to {labels[-1]}" if labels[-1] != labels[0] else "") + ".")
    if "quality" in data and data["quality"].notna().any():
        parts.append("Quality: " + _unique(data["quality"].map(quality_label), 3) + ".")
    return " ".join(parts) or "Source and quality: see the table beside this chart on the dashboard."


def _escape(text: str) -> str:
    """plotly reads a small HTML subset in annotation text: file text must not become markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrap(text: str, width: int = 100) -> str:
    """At most 4 lines of about `width` characters (11px text: fits a half-width chart)."""
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "<br>".join(_escape(x) for x in [*lines, line][:4])


def add_lineage(fig: go.Figure, text: str) -> go.Figure:
    """Draw `text` under the plot (left-aligned, small), making room for it; once per figure."""
    if any(getattr(a, "name", None) == LINEAGE_NAME for a in fig.layout.annotations):
        return fig
    bottom = fig.layout.margin.b if fig.layout.margin.b is not None else 80
    fig.add_annotation(name=LINEAGE_NAME, text=_wrap(text), xref="paper", yref="paper", x=0, y=0,
                       xanchor="left", yanchor="top", yshift=-bottom, align="left", showarrow=False,
                       font={"size": 11, "color": "#333333"})
    fig.update_layout(margin={"b": bottom + LINE_SPACE * (fig.layout.annotations[-1].text.count("<br>") + 1) + 8})
    return fig


def title_of(fig: go.Figure) -> str:
    raw = fig.layout.title.text or ""
    # the title's own lines (a long one is broken in two by app.figures), not its subtitles
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw.split("<sup>")[0])).strip()


def file_stem(fig: go.Figure, key: str | None) -> str:
    """A safe file name from the chart's title (else its key): letters, digits, underscores."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", title_of(fig) or key or "chart").strip("_").lower()
    return stem[:80] or "chart"


def image_config(fig: go.Figure, key: str | None) -> dict[str, Any]:
    """plotly config: the camera button saves a PNG named after the chart at twice the size."""
    return {"toImageButtonOptions": {"format": "png", "filename": file_stem(fig, key), "scale": 2},
            "displaylogo": False}


def _as_list(values: Any) -> list:
    if values is None:
        return []
    try:
        return list(values)
    except TypeError:
        return [values]


def figure_table(fig: go.Figure) -> pd.DataFrame:
    """The numbers a chart draws, one row a point (trace, x, y; a heatmap's cells with z), for a
    chart whose page has no frame of its own to offer. Suppressed points stay blank."""
    rows: list[dict[str, Any]] = []
    for trace in fig.data:
        if getattr(trace, "meta", None) == NOT_A_VALUE:
            continue  # e.g. the hatched band drawn where a count is suppressed: its height is no value
        name = getattr(trace, "name", None) or trace.type
        if trace.type == "heatmap":
            xs, ys = _as_list(trace.x), _as_list(trace.y)
            for i, zrow in enumerate(_as_list(trace.z)):
                for j, z in enumerate(_as_list(zrow)):
                    rows.append({"series": name, "x": xs[j] if j < len(xs) else j,
                                 "y": ys[i] if i < len(ys) else i, "value": z})
            continue
        xs, ys = _as_list(getattr(trace, "x", None)), _as_list(getattr(trace, "y", None))
        for i in range(max(len(xs), len(ys))):
            rows.append({"series": name, "x": xs[i] if i < len(xs) else None,
                         "y": None, "value": ys[i] if i < len(ys) else None})
    return pd.DataFrame(rows, columns=["series", "x", "y", "value"])


def svg_bytes(fig: go.Figure) -> bytes:
    """The figure, lineage included, as SVG, drawn by plotly's own renderer (kaleido, in the
    headless Chromium the server has). Built only when the reader asks for it (it starts a
    browser). Without a browser the file says so in words rather than failing silently."""
    width = fig.layout.width or 1000
    height = fig.layout.height or 500
    try:
        return fig.to_image(format="svg", width=width, height=height)
    except Exception as exc:  # noqa: BLE001 - no Chromium, or kaleido missing: say so in the file
        why = _escape(f"{type(exc).__name__}: {exc}"[:300])
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="80"><text x="10" y="30" '
                'font-family="sans-serif" font-size="14">SVG export failed on the server (it needs kaleido and '
                'Chromium). Use the camera button on the chart for a PNG.</text><text x="10" y="55" '
                f'font-family="sans-serif" font-size="11">{why}</text></svg>').encode()
