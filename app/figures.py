"""Pure figure builders: data in, plotly figure out. No streamlit, no SQL.

Why pure: the same builder serves the page, the printable profile and the tests, which can
assert on the figure JSON without a browser. Rules every builder follows (docs/methods.md):
- a missing period is a gap: points are joined only when the next period starts the day after
  the previous one ends, so nothing is drawn across a missing month or the police.uk mirror's
  2019-02 -> 2024-01 gap, and never across a suppressed value;
- series breaks are drawn as labelled vertical lines;
- synthetic or modelled values say so in the title, and use their own marker symbol;
- colour is never the only signal: ratings carry a symbol and a text label too;
- every string that came from a file, the warehouse or the URL (titles, units, area and
  indicator names, notes, period labels, citations) is passed as plain text and goes through
  `app.safe_text.plotly_text` here, since plotly draws `<a href>`, `<b>`, `<span style>` and
  the like and a hovertemplate substitutes `%{...}`; only the markup added here is live.
Maps use `choropleth_map` with `map_style="white-bg"` and our own centre/zoom, so they draw
offline (the geo subplot fetches a world topojson from the internet).

Imports: pandas, numpy, plotly, methods, app.safe_text.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from app.indicator_format import d3_format, number, quality_warnings, registry_of
from app.safe_text import plotly_text as _t
from methods.benchmark import rating_for, style_for
from methods.funnel import DEFAULT_ADJUSTMENT, UNADJUSTED, FunnelResult, funnel_analysis, funnel_limits
from methods.spc import SpcResult

QUALITY_SYMBOLS = {"official": "circle", "modelled": "diamond-open", "synthetic": "x", "local": "square"}
NO_DATA_COLOUR = "#BBBBBB"
EW_CENTER = {"lat": 52.65, "lon": -2.2}
EW_ZOOM = 5.3
LINE_COLOURS = px.colors.qualitative.Safe
DOW_ORDER = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def quality_note(qualities: Iterable[object]) -> str | None:
    """The warning a figure must carry for the qualities it shows (None if all official)."""
    notes = quality_warnings(list(qualities))
    return "; ".join(notes) if notes else None


TITLE_WIDTH = 64  # characters of a title's first line before it is broken at a ": " (half-width charts)


def _title_lines(title: str) -> str:
    """The escaped title in at most three lines of TITLE_WIDTH characters when it is longer
    ("Gangs and child criminal exploitation:<br>Children aged 10-17 ..."): plotly never wraps
    and cuts a long title at the chart's edge. Titles are joined from parts with ": ", so a
    break falls after the last ": " that fits; a part too long for a line breaks at its last
    space that fits. Lines are split on the plain text and escaped after, so a break never
    falls inside an escaped character."""
    lines, rest = [], title
    while len(rest) > TITLE_WIDTH and len(lines) < 2:
        cut = rest.rfind(": ", 0, TITLE_WIDTH + 1)
        if cut > 0:
            lines.append(rest[:cut + 1])
            rest = rest[cut + 2:]
            continue
        space = rest.rfind(" ", 0, TITLE_WIDTH + 1)
        if space <= 0:
            break
        lines.append(rest[:space])
        rest = rest[space + 1:]
    return "<br>".join(_t(x) for x in [*lines, rest])


def titled(title: str, qualities: Iterable[object]) -> str:
    """Plotly markup for a figure title: `title` (plain text, escaped here, broken once if long)
    and the quality warning the figure must carry."""
    note = quality_note(qualities)
    return _title_lines(title) + _sup(note, bold=True) if note else _title_lines(title)


def wrap_words(text: str, width: int = 90) -> str:
    """`text` (already plotly-escaped) broken into lines of about `width` characters with
    `<br>`, since plotly never wraps: a long subtitle is otherwise cut off at the chart's edge.
    Only for our own notes and warnings; titles from files keep one line (they are escaped
    whole and read as typed)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "<br>".join(lines)


def _sup(text: str, *, bold: bool = False, width: int = 75) -> str:
    """A subtitle: each wrapped line in its own `<sup>` (plotly spaces lines of small text by
    the line's own size, so a `<br>` inside one `<sup>` leaves a gap)."""
    return "".join(f"<br><sup>{'<b>' if bold else ''}{line}{'</b>' if bold else ''}</sup>"
                   for line in wrap_words(text, width).split("<br>"))


TITLE_LINE_PX = 26  # the title's first line (17px text)
SUB_LINE_PX = 22  # each further line (a <sup> subtitle line)


def title_on_top(fig: go.Figure, title: str, *, height: int, legend: bool = True) -> go.Figure:
    """The title (with its subtitle lines) at the top left, and the legend, if any, in a band
    right under it, both placed in pixels of a figure of fixed `height`.

    Why: a legend under the plot lands on the lineage line that `app.chart_export.add_lineage`
    draws there (plotly gives a legend no pixel offset, so "below the x axis title" cannot be
    said), and on a phone its rows cover the axis. Above the plot, plotly moves the plot down
    by however many rows the legend needs at the width it is drawn at."""
    lines = title.count("<br>")
    title_px = TITLE_LINE_PX + SUB_LINE_PX * lines
    fig.update_layout(
        height=height, margin={"t": title_px + 24},
        # plotly places a multi-line title by its first line (the further lines run down from
        # it, whatever the anchor): that line's middle sits 20px below the figure's top edge
        title={"text": title, "x": 0.01, "xanchor": "left", "xref": "container", "yref": "container",
               "y": 1 - 20 / height, "yanchor": "middle"},
    )
    if legend:
        fig.update_layout(legend={"orientation": "h", "yref": "container", "y": 1 - (title_px + 14) / height,
                                  "yanchor": "top", "x": 0.0, "xanchor": "left"})
    return fig


def _texts(values: Iterable[object]) -> list[str]:
    """Each value as escaped plotly text (a missing value as an empty string)."""
    return [_t("" if v is None or (not isinstance(v, str) and pd.isna(v)) else v) for v in values]


def with_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by period and insert an all-missing row wherever the next period does not start
    the day after the previous one ends, so a line is never drawn across a missing period."""
    d = df.sort_values(["period_start", "period_end"]).reset_index(drop=True)
    if len(d) < 2:
        return d
    starts = pd.to_datetime(d["period_start"]).dt.normalize()
    ends = pd.to_datetime(d["period_end"]).dt.normalize()
    contiguous = starts.iloc[1:].to_numpy() == (ends.iloc[:-1] + pd.Timedelta(days=1)).to_numpy()
    rows: list[dict] = []
    records = d.to_dict("records")
    for i, rec in enumerate(records):
        if i > 0 and not contiguous[i - 1]:
            gap = dict.fromkeys(d.columns)
            gap["period_end"] = ends.iloc[i - 1] + (starts.iloc[i] - ends.iloc[i - 1]) / 2
            rows.append(gap)
        rows.append(rec)
    out = pd.DataFrame(rows, columns=d.columns)
    out["period_end"] = pd.to_datetime(out["period_end"])
    return out


def _add_breaks(fig: go.Figure, breaks: pd.DataFrame | None) -> None:
    if breaks is None or breaks.empty:
        return
    for date, grp in breaks.groupby("break_date"):
        text = _t(grp["description"].iloc[0])
        fig.add_shape(
            type="line", x0=date, x1=date, yref="paper", y0=0, y1=1,
            line={"dash": "dot", "color": "#444444", "width": 1.5},
        )
        fig.add_annotation(
            x=date, yref="paper", y=1.0, text="series break", showarrow=False, yanchor="top",
            font={"size": 10}, hovertext=text, bgcolor="rgba(255,255,255,0.8)",
        )


def trend_figure(
    df: pd.DataFrame,
    *,
    title: str,
    unit: str,
    line_col: str = "area_name",
    breaks: pd.DataFrame | None = None,
    show_intervals: bool = True,
) -> go.Figure:
    """One line per `line_col` value, x = end of period, 95% intervals as error bars, gaps for
    missing periods, breaks marked, quality in the marker symbol and the title. Numbers are
    written with the indicator's registry decimals (columns multiplier/decimals of `df`)."""
    fig = go.Figure()
    reg = registry_of(df)
    if df.empty:
        fig.update_layout(title=_t(title) + "<br><sup>no data for this selection</sup>")
        return fig
    for i, (name, grp) in enumerate(df.groupby(line_col, sort=False)):
        g = with_gaps(grp)
        value = pd.to_numeric(g["value"], errors="coerce")
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        error_y = None
        if show_intervals and {"lower_ci", "upper_ci"} <= set(g.columns):
            lo = pd.to_numeric(g["lower_ci"], errors="coerce")
            up = pd.to_numeric(g["upper_ci"], errors="coerce")
            if (up.notna() & lo.notna()).any():
                error_y = {"type": "data", "array": (up - value).tolist(), "arrayminus": (value - lo).tolist(),
                           "visible": True, "thickness": 1, "color": colour}
        quality = g.get("quality", pd.Series([None] * len(g))).fillna("")
        symbols = [QUALITY_SYMBOLS.get(q, "circle") for q in quality]
        custom = np.column_stack([
            _texts(g.get("period_label", pd.Series([""] * len(g)))),
            _texts(quality.astype(str)),
            [number(v, reg) for v in g.get("lower_ci", pd.Series([None] * len(g)))],
            [number(v, reg) for v in g.get("upper_ci", pd.Series([None] * len(g)))],
            _texts(g.get("source_title", pd.Series([""] * len(g)))),
        ])
        fig.add_trace(go.Scatter(
            x=g["period_end"], y=value, name=_t(name), mode="lines+markers", connectgaps=False,
            line={"color": colour}, marker={"symbol": symbols, "size": 8, "color": colour},
            error_y=error_y, customdata=custom,
            hovertemplate=("%{fullData.name}<br>%{customdata[0]}: <b>%{y:" + d3_format(reg) + "}</b> " + _t(unit)
                           + "<br>95% interval %{customdata[2]} to %{customdata[3]}"
                           + "<br>quality: %{customdata[1]}<br>%{customdata[4]}<extra></extra>"),
        ))
    _add_breaks(fig, breaks)
    fig.update_layout(yaxis_title=_t(unit), xaxis_title="end of period")
    # the legend above the plot takes a row per line once names are long (benchmarks with their
    # basis): a taller figure keeps the plot itself readable
    title_on_top(fig, titled(title, df.get("quality", [])), height=min(720, 460 + 24 * max(0, len(fig.data) - 2)))
    ends = pd.to_datetime(df["period_end"], errors="coerce").dropna()
    values = pd.to_numeric(df["value"], errors="coerce").dropna()
    if ends.nunique() == 1:
        # One period only: give the axis a span of years and a zero baseline, otherwise plotly
        # zooms into milliseconds and fractions of a unit around the single point.
        end = ends.iloc[0]
        fig.update_xaxes(range=[end - pd.DateOffset(years=2), end + pd.DateOffset(years=2)])
    if len(values) and values.nunique() == 1 and values.iloc[0] > 0:
        fig.update_yaxes(range=[0, float(values.iloc[0]) * 1.25])
    return fig


def spc_figure(result: SpcResult, *, title: str, unit: str = "offences in the month",
               qualities: Iterable[object] = ()) -> go.Figure:
    """XmR chart from `methods.spc.xmr_chart`: values (gaps kept), each continuous run's own
    mean and limits drawn only across that run (never across a gap), special-cause points drawn
    with their own symbol and named in the legend; a run with too few points has its mean and
    the words "too few points for limits" but no limits."""
    pts = result.points
    x = pts.index.to_timestamp(how="end").normalize() if len(pts) else []
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=pts["value"], name="monthly count", mode="lines+markers",
                             connectgaps=False, marker={"symbol": "circle", "size": 7, "color": "#0072B2"}))
    special = pts["special_cause"].to_numpy() if len(pts) else np.array([], dtype=bool)
    if special.any():
        reasons = []
        for _, r in pts[special].iterrows():
            why = [w for w, flag in (("outside limits", r.outside_limits), ("run of 7 on one side", r["shift"]),
                                     ("run of 7 rising/falling", r.trend)) if flag]
            reasons.append(", ".join(why))
        fig.add_trace(go.Scatter(
            x=np.asarray(x)[special], y=pts["value"][special], name="special cause (signal)", mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": "#D55E00"}, customdata=reasons,
            hovertemplate="%{x|%b %Y}: %{y}<br>%{customdata}<extra></extra>",
        ))
    shown: set[str] = set()
    for run in result.runs:
        x0 = run.start.to_timestamp(how="end").normalize()
        x1 = run.end.to_timestamp(how="end").normalize()
        for val, name, dash in ((run.mean, "mean", "solid"), (run.upper_limit, "upper limit", "dash"),
                                (run.lower_limit, "lower limit", "dash")):
            if val is None:
                continue
            fig.add_trace(go.Scatter(x=[x0, x1], y=[val, val], name=name, mode="lines", legendgroup=name,
                                     showlegend=name not in shown, line={"dash": dash, "color": "#555555", "width": 1},
                                     hovertemplate=f"{run.label()}: {name} {val:,.1f}<extra></extra>"))
            shown.add(name)
        if not run.has_limits:
            fig.add_annotation(x=x0 + (x1 - x0) / 2, y=run.mean, yshift=18, showarrow=False,
                               text="too few points for limits", font={"size": 10, "color": "#444444"})
    sub = "; ".join(result.notes)
    fig.update_layout(yaxis_title=_t(unit))
    title_on_top(fig, titled(title, qualities) + (_sup(_t(sub)) if sub else ""), height=480)
    return fig


def ranked_bars(
    df: pd.DataFrame,
    *,
    title: str,
    unit: str,
    benchmark_value: float | None,
    benchmark_name: str,
    polarity: str = "none",
) -> go.Figure:
    """Horizontal bars, highest first, with 95% intervals; each bar coloured by its comparison
    with the benchmark (`compare_frame` columns significance/rating/not_compared_reason) AND
    labelled with the comparison's symbol and words, with the benchmark drawn as a line.

    The words sit under the area's name on the axis and the value after the interval's end,
    so no label is drawn over a whisker. An area without a value (suppressed, or no figure) keeps
    its row, at the bottom, with no bar and the words "suppressed" (or "no figure"): a reader
    must not take the area for one that was left out."""
    reg = registry_of(df)
    valued = df.dropna(subset=["value"]).sort_values("value")
    empty = df[df["value"].isna()]
    styles = [style_for(s, r, polarity, None) for s, r in zip(valued["significance"], valued["rating"], strict=True)]
    verdicts = [f"{s.symbol} {s.label}" for s in styles]
    names = _texts(valued["area_name"])
    reasons = empty["suppressed_reason"] if "suppressed_reason" in empty else pd.Series([None] * len(empty))
    empty_words = ["suppressed" if isinstance(r, str) and r.strip() else "no figure" for r in reasons]
    empty_names = _texts(empty["area_name"])
    order = [*empty_names, *names]  # plotly draws the first category at the bottom
    ticks = [f"<b>{n}</b><br>{w}" for n, w in
             [*zip(empty_names, empty_words, strict=True), *zip(names, verdicts, strict=True)]]
    upper = valued["upper_ci"].where(valued["upper_ci"].notna(), valued["value"])
    # figures also compared with their own region (app.benchmarks.region_comparisons) say so in the
    # hover too: the same words as the table and CSV, so the chart never shows one verdict of two
    regional = ("region_phrase" in valued) and valued["region_phrase"].map(lambda v: isinstance(v, str)).any()
    region_words = (_texts(valued["region_phrase"].map(lambda v: f"vs region: {v}" if isinstance(v, str) else ""))
                    if regional else [""] * len(valued))
    fig = go.Figure(go.Bar(
        y=names, x=valued["value"], orientation="h",
        marker={"color": [s.colour for s in styles], "line": {"color": "#333333", "width": 1}},
        error_x={"type": "data", "array": (valued["upper_ci"] - valued["value"]).tolist(),
                 "arrayminus": (valued["value"] - valued["lower_ci"]).tolist(), "color": "#222222"},
        text=verdicts, textposition="none",
        customdata=np.column_stack([valued["lower_ci"].map(lambda v: number(v, reg)),
                                    valued["upper_ci"].map(lambda v: number(v, reg)),
                                    _texts(valued.get("quality", pd.Series([""] * len(valued))).astype(str)),
                                    verdicts, region_words]) if len(valued) else None,
        hovertemplate="%{y}: <b>%{x:" + d3_format(reg) + "}</b> " + _t(unit)
                      + "<br>95% interval %{customdata[0]} to %{customdata[1]}<br>%{customdata[3]}"
                      + ("<br>%{customdata[4]}" if regional else "")
                      + "<br>quality %{customdata[2]}<extra></extra>",
        name="areas", showlegend=False,
    ))
    # the value, written after the end of the interval's whisker (never on top of it)
    fig.add_trace(go.Scatter(
        x=upper, y=names, mode="text", text=[f" {number(v, reg)}" for v in valued["value"]],
        textposition="middle right", cliponaxis=False, hoverinfo="skip", showlegend=False, name="values",
    ))
    if len(empty):
        fig.add_trace(go.Scatter(
            x=[0.0] * len(empty), y=empty_names, mode="text", text=[f" {w}: not a value" for w in empty_words],
            textposition="middle right", cliponaxis=False, showlegend=False, name="not shown", meta="not a value",
            customdata=_texts(reasons.fillna("no figure for this period")),
            hovertemplate="%{y}: not shown (%{customdata})<extra></extra>",
        ))
    if benchmark_value is not None and np.isfinite(benchmark_value):
        fig.add_shape(type="line", x0=benchmark_value, x1=benchmark_value, yref="paper", y0=0, y1=1,
                      line={"dash": "dash", "color": "#000000"})
        fig.add_annotation(x=benchmark_value, yref="paper", y=1.0, yanchor="bottom", showarrow=False,
                           text=f"{_t(benchmark_name)}: {number(benchmark_value, reg)}")
    top = pd.concat([upper, pd.Series([benchmark_value or 0.0])]).max()
    fig.update_layout(
        xaxis_title=_t(unit), margin={"r": 60},
        yaxis={"categoryorder": "array", "categoryarray": order, "tickvals": order, "ticktext": ticks,
               "automargin": True},
        xaxis={"range": [0, float(top) * 1.15 if pd.notna(top) and top > 0 else 1.0]},
    )
    title_on_top(fig, titled(title, df.get("quality", [])), height=max(320, 48 * len(order) + 170), legend=False)
    fig.update_layout(margin={"t": fig.layout.margin.t + 18})  # room for the benchmark's label
    return fig


FUNNEL_SYMBOLS = {
    "above 99.8% limit": "triangle-up", "above 95% limit": "triangle-up-open",
    "within 95% limits": "circle", "below 95% limit": "triangle-down-open",
    "below 99.8% limit": "triangle-down", "not classified": "x",
}
# Fixed order, so the legend reads the same whatever order the data come in.
FUNNEL_ORDER = ["above 99.8% limit", "above 95% limit", "within 95% limits", "below 95% limit",
                "below 99.8% limit", "not classified"]
FUNNEL_SIGNIFICANCE = {"above 99.8% limit": "higher", "above 95% limit": "higher",
                       "within 95% limits": "similar", "below 95% limit": "lower",
                       "below 99.8% limit": "lower"}
UNCLASSIFIED_QUALITIES = ("synthetic", "modelled")


def funnel_meaning(position: str, polarity: str) -> tuple[str, str]:
    """(words, colour) for a funnel position. The colour means the same as everywhere else on
    the dashboard (`methods.benchmark.style_for`): worse / better / similar with a polarity,
    blues and grey with no judgement (polarity 'none', e.g. police-activity offences), grey for
    not classified."""
    sig = FUNNEL_SIGNIFICANCE.get(position)
    if sig is None:
        return "not classified", NO_DATA_COLOUR
    rating = rating_for(sig, polarity)
    style = style_for(sig, rating, polarity)
    if sig == "similar":
        words = "similar"
    elif rating in ("worse", "better"):
        words = f"{sig} ({rating})"
    else:
        words = f"{sig} (no better/worse judgement)"
    return words, style.colour


def funnel_result(df: pd.DataFrame, *, benchmark_rate: float, per: float = 100_000,
                  adjustment: str = DEFAULT_ADJUSTMENT) -> FunnelResult:
    """`methods.funnel.funnel_analysis` over the rows of `df` that have a count and a
    denominator; modelled and synthetic rows are shown but never classified nor used to
    estimate overdispersion. Row order follows `df.dropna(subset=["count", "denominator"])`."""
    d = df.dropna(subset=["count", "denominator"])
    quality = d["quality"] if "quality" in d else pd.Series(["official"] * len(d), index=d.index)
    eligible = ~quality.isin(UNCLASSIFIED_QUALITIES).to_numpy()
    return funnel_analysis(d["count"].astype(float), d["denominator"].astype(float), benchmark_rate, per,
                           adjustment=adjustment, eligible=eligible)


def funnel_figure(df: pd.DataFrame, *, benchmark_rate: float, benchmark_name: str, title: str,
                  unit: str, per: float = 100_000, polarity: str = "none",
                  adjustment: str = DEFAULT_ADJUSTMENT, highlight: Iterable[str] = ()) -> go.Figure:
    """Funnel plot from `methods.funnel`: rate against population with 95% and 99.8% limits
    around the benchmark (adjusted for overdispersion as `adjustment` says, with the unadjusted
    Poisson 99.8% limits one legend click away); each area's position is its symbol, its
    legend entry and a fixed colour that means better / worse / similar / no judgement.
    Modelled and synthetic areas are grey and not classified. Areas whose `area_code` is in
    `highlight` are named on the chart."""
    d = df.dropna(subset=["count", "denominator"]).copy()
    reg = registry_of(df)
    result = funnel_result(df, benchmark_rate=benchmark_rate, per=per, adjustment=adjustment)
    d["position"] = result.positions.to_numpy()
    d["rate"] = d["count"] / d["denominator"] * per
    quality = d["quality"] if "quality" in d else pd.Series(["official"] * len(d), index=d.index)
    unclassified = quality.isin(UNCLASSIFIED_QUALITIES)
    fig = go.Figure()
    if not d.empty:
        pops = np.geomspace(max(d["denominator"].min() * 0.8, 1.0), d["denominator"].max() * 1.2, 200)
        lim = funnel_limits(benchmark_rate, pops, per, adjustment=adjustment,
                            dispersion=result.dispersion if adjustment != UNADJUSTED else None)
        adjusted = result.applied != UNADJUSTED
        kind = "overdispersion-adjusted " if adjusted else "Poisson "
        for col, name, dash in (("upper_99_8", f"{kind}99.8% limits", "dash"), ("lower_99_8", None, "dash"),
                                ("upper_95", f"{kind}95% limits", "dot"), ("lower_95", None, "dot")):
            fig.add_trace(go.Scatter(x=pops, y=lim[col], mode="lines", name=name or col, showlegend=name is not None,
                                     legendgroup=dash, line={"dash": dash, "color": "#555555", "width": 1},
                                     hoverinfo="skip"))
        if adjusted:
            raw = funnel_limits(benchmark_rate, pops, per)
            for col, show in (("upper_99_8", True), ("lower_99_8", False)):
                fig.add_trace(go.Scatter(x=pops, y=raw[col], mode="lines", name="unadjusted Poisson 99.8% limits",
                                         showlegend=show, legendgroup="raw", visible="legendonly",
                                         line={"dash": "dashdot", "color": "#AAAAAA", "width": 1}, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=[pops[0], pops[-1]], y=[benchmark_rate] * 2, mode="lines",
                                 name=f"{_t(benchmark_name)} ({number(benchmark_rate, reg)})", line={"color": "#000000"}))
        for pos in FUNNEL_ORDER:
            grp = d[(d["position"] == pos) & ~unclassified]
            if grp.empty:
                continue
            words, colour = funnel_meaning(pos, polarity)
            name = f"{pos}: {words} ({len(grp)})" if pos != "not classified" else f"not classified ({len(grp)})"
            fig.add_trace(go.Scatter(
                x=grp["denominator"], y=grp["rate"], mode="markers", name=name,
                marker={"symbol": FUNNEL_SYMBOLS[pos], "size": 10, "color": colour,
                        "line": {"color": "#333333", "width": 1}},
                text=_texts(grp["area_name"]), customdata=grp["count"],
                hovertemplate="%{text}<br>rate %{y:" + d3_format(reg) + "} " + _t(unit) + "<br>count %{customdata:,}"
                              + "<br>population %{x:,}<extra>" + f"{pos}: {words}" + "</extra>",
            ))
        grey = d[unclassified]
        if not grey.empty:
            fig.add_trace(go.Scatter(
                x=grey["denominator"], y=grey["rate"], mode="markers",
                name=f"modelled or synthetic: not classified ({len(grey)})",
                marker={"symbol": "x", "size": 9, "color": NO_DATA_COLOUR}, text=_texts(grey["area_name"]),
                customdata=_texts(grey["quality"].astype(str)),
                hovertemplate="%{text}<br>rate %{y:" + d3_format(reg) + "} " + _t(unit)
                              + "<br>%{customdata} figure: not classified<extra></extra>",
            ))
        chosen = set(highlight)
        if chosen and "area_code" in d:
            # neighbours (in population order) take turns round the point (above right, below
            # left, below right, above left), so areas of similar size do not write their names
            # over each other
            named = d[d["area_code"].isin(chosen)].sort_values("denominator")
            for i, r in enumerate(named.itertuples()):
                dx, dy = ((1, -1), (-1, 1), (1, 1), (-1, -1))[i % 4]
                fig.add_annotation(x=np.log10(r.denominator), y=r.rate, text=_t(r.area_name), showarrow=True,
                                   arrowhead=0, ax=22 * dx, ay=24 * dy, font={"size": 11},
                                   xanchor="left" if dx == 1 else "right", bgcolor="rgba(255,255,255,0.8)")
    # The method note is long (method, phi, test, tau²): wrapped, never cut at the chart's edge.
    fig.update_layout(xaxis_title="population (denominator)", yaxis_title=_t(unit), xaxis_type="log")
    title_on_top(fig, titled(title, df.get("quality", [])) + _sup(_t(result.note())), height=620)
    return fig


def _subset(geojson: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [f for f in geojson["features"] if f["id"] in ids]}


def choropleth_figure(
    df: pd.DataFrame,
    geojson: dict[str, Any],
    *,
    title: str,
    unit: str,
    center: dict[str, float] | None = None,
    zoom: float = EW_ZOOM,
    height: int = 650,
) -> go.Figure:
    """Offline choropleth: one shape per map unit. `df` has one row per map unit with columns
    map_unit, value, hover (plotly markup whose data `app.mapdata.map_units` already escaped).
    Units without a value are drawn grey in a second trace named 'no data', so they are
    labelled rather than left blank.

    Each trace carries only the features it draws (the value trace the shapes with a value, the
    grey trace the rest), so the figure sends every shape once; built with graph_objects rather
    than plotly express (same figure, a fraction of the build time)."""
    units = {f["id"] for f in geojson["features"]}
    d = df[df["map_unit"].isin(units)].drop_duplicates("map_unit")
    has = d[d["value"].notna()]
    missing = units - set(has["map_unit"])
    fig = go.Figure()
    if not has.empty:
        fig.add_trace(go.Choroplethmap(
            geojson=_subset(geojson, set(has["map_unit"])), locations=list(has["map_unit"]), featureidkey="id",
            z=has["value"].astype(float).tolist(), coloraxis="coloraxis", name="value", showlegend=False,
            marker_opacity=0.85, marker_line_width=0.4, marker_line_color="#FFFFFF", hovertext=list(has["hover"]),
            hovertemplate="%{hovertext}<extra></extra>",
        ))
    if missing:
        nd = pd.DataFrame({"map_unit": sorted(missing)})
        hover = dict(zip(d["map_unit"], d["hover"], strict=True))
        names = {f["id"]: f["properties"].get("names", f["id"]) for f in geojson["features"]}
        nd["hover"] = [hover.get(u, f"{_t(names.get(u, u))}: no data") for u in nd["map_unit"]]
        fig.add_trace(go.Choroplethmap(
            geojson=_subset(geojson, missing), locations=list(nd["map_unit"]), featureidkey="id", z=[0] * len(nd),
            colorscale=[[0, NO_DATA_COLOUR], [1, NO_DATA_COLOUR]], showscale=False, name="no data (grey)",
            showlegend=True, marker={"line": {"width": 0.4, "color": "#FFFFFF"}}, hovertext=list(nd["hover"]),
            hovertemplate="%{hovertext}<extra>no data</extra>",
        ))
    fig.update_layout(
        map={"style": "white-bg", "center": center or EW_CENTER, "zoom": zoom},
        coloraxis={"colorscale": px.colors.sequential.Viridis, "colorbar": {"title": {"text": _t(unit)}}},
        title=titled(title, df.get("quality", [])), height=height, margin={"l": 0, "r": 0, "t": 80, "b": 0},
        legend={"x": 0.01, "y": 0.99},
    )
    return fig


def istv_heatmap(grid: pd.DataFrame, *, title: str, qualities: Iterable[object] = ("synthetic",)) -> go.Figure:
    """Hour x day-of-week heatmap of attendances. `grid` has columns dow, hour, count (missing
    where suppressed) and suppressed_reason; suppressed cells are blank with a '*' label."""
    hours = [f"{h:02d}" for h in range(24)]
    g = grid.set_index(["dow", "hour"])
    z, text = [], []
    for day in DOW_ORDER:
        row_z, row_t = [], []
        for h in hours:
            c = g["count"].get((day, h), np.nan)
            c = float(c) if c is not None and c is not pd.NA else np.nan
            reason = g["suppressed_reason"].get((day, h), None) if "suppressed_reason" in g else None
            row_z.append(None if not np.isfinite(c) else c)
            row_t.append("*" if (not np.isfinite(c) and isinstance(reason, str)) else ("" if not np.isfinite(c)
                                                                                      else f"{c:,.0f}"))
        z.append(row_z)
        text.append(row_t)
    # Counts start at zero: the colour scale too (plotly centres an all-zero grid on 0 and
    # draws a bar running from -0.4 to 0.4, negative attendances).
    shown = [v for row in z for v in row if v is not None]
    top = max(shown, default=0.0)
    fig = go.Figure(go.Heatmap(
        z=z, x=hours, y=DOW_ORDER, text=text, texttemplate="%{text}", colorscale="Blues",
        zmin=0, zmax=top if top > 0 else 1, showscale=top > 0,
        colorbar={"title": {"text": "attendances"}}, hoverongaps=False,
        hovertemplate="%{y} %{x}:00 - %{z:,} attendances<extra></extra>",
    ))
    notes = []
    if shown and top == 0 and all(t != "*" for row in text for t in row):  # zero everywhere, none hidden
        notes.append(NO_ATTENDANCES)
    notes.append("* suppressed: 1-7 attendances, or hidden so that one cannot be worked out from the totals")
    fig.update_layout(xaxis_title="hour of assault", yaxis_title="day of week", yaxis_autorange="reversed")
    title_on_top(fig, titled(title, qualities) + "".join(_sup(n) for n in notes), height=460, legend=False)
    return fig


NO_ATTENDANCES = "no attendances recorded in this period (every hour shown is zero)"


def count_bars(df: pd.DataFrame, *, title: str, category_col: str = "category", unit: str = "attendances",
               qualities: Iterable[object] = ()) -> go.Figure:
    """Bars of counts by category. A suppressed category is drawn as suppressed, never as an
    empty slot that reads as zero: a light hatched column the full height of the axis, labelled
    "suppressed" (its height is the axis, not a value; the hover and the legend say so)."""
    cats = _texts(df[category_col].astype(str))
    counts = [None if pd.isna(c) else float(c) for c in df["count"]]
    top = max([c for c in counts if c is not None] + [0.0])
    y_max = top * 1.18 if top > 0 else 1.0
    fig = go.Figure(go.Bar(x=cats, y=counts, text=[f"{c:,.0f}" if c is not None else "" for c in counts],
                           textposition="outside", marker={"color": "#0072B2"}, cliponaxis=False,
                           name=_t(unit), hovertemplate="%{x}: <b>%{y:,.0f}</b> " + _t(unit) + "<extra></extra>"))
    hidden = [c is None for c in counts]
    if any(hidden):
        fig.add_trace(go.Bar(
            x=cats, y=[y_max if h else None for h in hidden], text=["suppressed" if h else "" for h in hidden],
            textposition="inside", insidetextanchor="end", textangle=-90, textfont={"color": "#222222"},
            marker={"color": "#F2F2F2", "line": {"color": "#767676", "width": 1},
                    "pattern": {"shape": "/", "fgcolor": "#C4C4C4", "size": 10}},
            name="suppressed (1-7, or hidden so one cannot be worked out): not a value",
            hovertemplate="%{x}: suppressed, not shown<extra></extra>", meta="not a value",
        ))
    fig.update_layout(yaxis_title=_t(unit), barmode="overlay", yaxis={"range": [0, y_max]}, showlegend=any(hidden))
    title_on_top(fig, titled(title, qualities), height=460, legend=any(hidden))
    return fig


COVERAGE_CODES = {"present": 2, "partial": 1, "implausible": 1, "missing": 0}
COVERAGE_WORDS = {"present": "ok", "partial": "part", "implausible": "HIGH", "missing": "MISSING"}


def coverage_heatmap(cov: pd.DataFrame) -> go.Figure:
    """police.uk force x month grid: colour AND a word in each cell (present/partial/implausible/missing).
    Forces by `force_name` when the frame has it (police.uk's folder names otherwise)."""
    pivot = cov.pivot_table(index="force_name" if "force_name" in cov else "force", columns="month", values="status",
                            aggfunc="first")
    z = pivot.apply(lambda s: s.map(COVERAGE_CODES)).to_numpy(dtype=float)
    text = pivot.fillna("").map(lambda s: COVERAGE_WORDS.get(s, s))
    fig = go.Figure(go.Heatmap(
        z=z, x=_texts(pivot.columns), y=_texts(pivot.index), text=text.to_numpy(), texttemplate="%{text}",
        colorscale=[[0, "#D55E00"], [0.5, "#E69F00"], [1, "#56B4E9"]], zmin=0, zmax=2, showscale=False,
        hovertemplate="%{y} %{x}: %{text}<extra></extra>", xgap=1, ygap=1,
    ))
    fig.update_layout(title="police.uk files by force and month (ok = present, part = partial, HIGH = implausibly "
                            "high, held back, MISSING = no file)",
                      xaxis={"type": "category"}, height=max(400, 18 * len(pivot) + 120), margin={"t": 60})
    return fig
