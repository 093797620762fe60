"""The area profile as a document: an A4 report (HTML, and PDF through headless Chromium) that a
partnership can put into a strategic needs assessment.

Why a module of its own: the report must carry the same numbers as the Area profile screen, so
it is built from the rows `app.profile.csp_profile` returns (the screen's rows) and formats each
number the way the page does; it adds what a document needs and a screen does not: a title
block saying what the area contains, which geographies the figures are at and how current each
source is, the Serious Violence Duty outcome measures (the profile panel's rows and words, from
`app.outcomes`), one section per family with trend charts (the area with its 95% intervals and its
benchmarks, as `app.svgchart` SVG so the file works offline and prints), a table with plain
headers that name each benchmark, a source line for every figure, methods and caveats, and page
numbers (CSS `@page` margin boxes, which Chromium prints).

Text from files and the warehouse is data: every value goes through `app.safe_text.html`, and
the document carries a Content-Security-Policy that forbids scripts and every external fetch.
Synthetic figures are labelled SYNTHETIC in every place they appear (summary, chart, table, source
line) and never lead: they are listed after the real figures, apart.

Layout: `report_inputs` reads (app.queries, app.profile, app.benchmarks); `report_html` is pure
(inputs in, one HTML string out; the unit tests call it with hand-made rows); `html_to_pdf` runs
Chromium. `profile_report_html` / `profile_report_pdf` are the cached entry points for the page,
keyed on area, month and the warehouse file's identity.
Imports: pandas, app.queries, app.profile, app.outcomes, app.benchmarks, app.disclosure_view,
app.svgchart, app.safe_text. No streamlit calls.
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from app import outcomes as oc
from app import profile as pr
from app import queries as q
from app.benchmarks import benchmark_values, chart_benchmark_codes, profile_comparisons
from app.disclosure_view import control, quality_label
from app.indicator_format import is_rate, number, quality_wording
from app.safe_text import html as esc
from app.svgchart import Line, Point, trend_svg

MAX_PERIODS = 15  # a trend chart shows at most the latest 15 periods of a series
PDF_TIMEOUT_S = 120
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYNTHETIC_WARNING = str(quality_wording("synthetic", "warning"))  # the one wording (methods.wording)
COUNT = {"multiplier": 1}  # a count is written whole
SECTION_SUMMARY = "Summary"
SECTION_OUTCOMES = "Serious Violence Duty outcome measures"
SECTION_METHODS = "Methods and caveats"
SECTION_SOURCES = "Sources and licence"
SECTION_CONTENTS = "About this report"


class PdfUnavailable(RuntimeError):
    """The PDF could not be made here (no Chromium, or Chromium failed); the HTML still can."""


@dataclass(frozen=True)
class ReportInputs:
    """Everything the document shows, read once: the profile's own rows, a trend per charted row
    (row index -> lines, area first), the sources table, each source's coverage, the
    warehouse's build time and the Duty outcome measures as the profile page shows them
    (`app.outcomes.duty_outcomes`; None leaves the section out)."""

    geo: Mapping[str, Any]
    rows: pd.DataFrame
    month: str | None
    trends: Mapping[int, Sequence[Line]]
    sources: pd.DataFrame
    coverage: pd.DataFrame
    built_at: str | None = None
    outcomes: pd.DataFrame | None = None


# ---------------------------------------------------------------- numbers, as the page writes them
def _missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _text(v: object) -> str:
    """A value as text, blank for missing (never 'None' or 'nan')."""
    return "" if _missing(v) else str(v)


def value_text(v: object, row: Mapping[str, Any] | None) -> str:
    """A figure as the screen writes it (the registry's decimals; counts whole); blank if none."""
    return "" if _missing(v) else number(v, row)


def count_text(v: object) -> str:
    return "" if _missing(v) else number(v, COUNT)


def quality_words(quality: object) -> str:
    """The one quality label (methods.wording), as on the screen and in the CSV."""
    return quality_label(quality) if isinstance(quality, str) else ""


def _period(row: Mapping[str, Any]) -> str:
    label = row.get("period_label")
    return pr.period_words(label, row.get("period_type")) if isinstance(label, str) and label else ""


def _has_figure(row: Mapping[str, Any]) -> bool:
    return isinstance(row.get("area_code"), str) and not _missing(row.get("value"))


def chartable(row: Mapping[str, Any]) -> bool:
    """A trend is drawn for a figure with a value that is a rate (a count of one council is not
    set against a national count on a chart)."""
    return _has_figure(row) and is_rate(row)


# ---------------------------------------------------------------- reading
def _point(r: Mapping[str, Any]) -> Point:
    def num(v: object) -> float | None:
        return None if _missing(v) else float(v)  # type: ignore[arg-type]

    return Point(start=pd.Timestamp(r["period_start"]).date(), end=pd.Timestamp(r["period_end"]).date(),
                 label=str(r.get("period_label") or ""), value=num(r.get("value")), lower=num(r.get("lower_ci")),
                 upper=num(r.get("upper_ci")), quality=r.get("quality") if isinstance(r.get("quality"), str) else None)


def trend_lines(row: Mapping[str, Any], geo: Mapping[str, Any]) -> list[Line]:
    """The area's series (disclosure-controlled, latest MAX_PERIODS periods of the row's period
    type) and, for the same periods, the benchmarks the profile page's chart draws
    (`app.benchmarks.chart_benchmark_codes`: national, and the force, else the region), counted as
    the table's benchmarks are (`app.benchmarks.benchmark_values`)."""
    series = control(q.indicator_series(str(row["indicator_id"]), [str(row["area_code"])], str(row["period_type"])))
    if series.empty:
        return []
    series = series.sort_values(["period_end", "period_start"]).tail(MAX_PERIODS)
    name = str(row.get("area_name") or row["area_code"])
    lines = [Line(name=name, points=[_point(r) for r in series.to_dict("records")])]
    ind, level = str(row["indicator_id"]), str(row["area_type"])
    comps = [c for c, _, _ in profile_comparisons(dict(row), level, geo)]
    keep = chart_benchmark_codes([(c.role, c.code) for c in comps], row["area_code"])  # as the profile page draws
    chosen = [next(c for c in comps if c.code == code) for code in keep]
    if not chosen:
        return lines
    codes = [c.code for c in chosen]
    if q.like_for_like_benchmarks(ind, level, str(row["period_label"])).empty:
        # No like-for-like benchmarks: `benchmark_values` uses the published aggregates, i.e. these
        # observations (one query for the whole series instead of one per period).
        published = control(q.indicator_series(ind, codes, str(row["period_type"])))
        values = {(r["area_code"], r["period_label"]): r["value"] for r in published.to_dict("records")}
    else:
        values = {}
        for r in series.to_dict("records"):
            bench = benchmark_values(ind, level, str(r["period_label"]), str(r["period_type"]), codes)
            values.update({(b["area_code"], r["period_label"]): b["value"] for b in bench.to_dict("records")})
    for comp in chosen:
        pts = []
        for r in series.to_dict("records"):
            v = values.get((comp.code, r["period_label"]))
            pts.append(Point(start=pd.Timestamp(r["period_start"]).date(), end=pd.Timestamp(r["period_end"]).date(),
                             label=str(r["period_label"]), value=None if _missing(v) else float(v)))
        lines.append(Line(name=comp.name, points=pts, benchmark=True))
    return lines


def report_inputs(code: str, month: str | None, today: date | None = None) -> ReportInputs | None:
    """Read everything the report shows for one area and month (None for an unknown area).

    `today` dates the Duty outcomes' "how current" words (default: the server's date)."""
    geo, rows = pr.csp_profile(code, month)
    if geo is None or rows.empty:
        return None
    trends = {int(i): trend_lines(r, geo) for i, r in rows.iterrows() if chartable(r)}
    return ReportInputs(geo=geo, rows=rows, month=month, trends=trends, sources=q.sources(),
                        coverage=q.source_coverage(), built_at=q.meta().get("built_at"),
                        outcomes=oc.duty_outcomes(dict(geo), today))


# ---------------------------------------------------------------- the document
def css_string(text: str) -> str:
    """`text` as a CSS string literal: every character but letters, digits and spaces as a hex
    escape, so a name can never close the string or the <style> element."""
    return '"' + "".join(ch if ch.isalnum() and ch.isascii() or ch == " " else f"\\{ord(ch):x} " for ch in text) + '"'


CSS = """
@page { size: A4 portrait; margin: 15mm 14mm 17mm 14mm;
  @bottom-left { content: FOOTER; font: 7.5pt Arial, Helvetica, sans-serif; color: #444; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 7.5pt Arial, Helvetica, sans-serif; color: #444; } }
* { box-sizing: border-box; }
html { font: 9.5pt/1.35 Arial, "Liberation Sans", Helvetica, sans-serif; color: #111; }
body { margin: 0; }
@media screen { body { max-width: 182mm; margin: 1.5em auto; padding: 0 4mm; } }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 0 0 2mm; padding-bottom: 1mm; border-bottom: 2px solid #0072B2; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; }
section.family, section.methods { break-before: page; }
p, li { overflow-wrap: anywhere; }
.lead { font-size: 10.5pt; margin: 0 0 3mm; }
.facts { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 2mm 0; }
.facts th { width: 32%; text-align: left; vertical-align: top; padding: 1mm 2mm 1mm 0; font-weight: bold; }
.facts td { vertical-align: top; padding: 1mm 0; overflow-wrap: anywhere; }
table.figures, table.currency { width: 100%; border-collapse: collapse; table-layout: fixed; font-size: 7.5pt;
  margin: 2mm 0 3mm; }
table.figures th, table.figures td, table.currency th, table.currency td { border: 0.5pt solid #999; padding: 1mm;
  text-align: left; vertical-align: top; overflow-wrap: anywhere; }
table.figures th, table.currency th { background: #E8EEF4; font-weight: bold; }
table.figures td.num { text-align: right; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.unit, .basis, .why { display: block; color: #444; font-size: 6.8pt; }
.rating { display: block; font-size: 6.8pt; }
tr.synthetic td { background: #FDECEC; }
.tag { font-weight: bold; color: #B00020; }
.notice { border-left: 3mm solid #E69F00; background: #FFF6E0; padding: 2mm 3mm; margin: 2mm 0; }
.notice.synthetic { border-left-color: #B00020; background: #FDECEC; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm 4mm; margin: 2mm 0; }
figure { margin: 0; break-inside: avoid; min-width: 0; }
figure.synthetic { outline: 0.8pt dashed #B00020; }
figcaption { font-size: 7.5pt; margin-bottom: 1mm; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; max-width: 100%; height: auto; }
ol.notes { font-size: 7pt; padding-left: 6mm; margin: 1mm 0; }
ol.notes li { margin-bottom: 1mm; break-inside: avoid; }
.small { font-size: 8pt; color: #333; }
img, svg, table, figure { max-width: 100%; }
"""


def _title_block(inp: ReportInputs, made: datetime) -> str:
    geo, rows = inp.geo, inp.rows
    a = geo["area"]
    kind = q.AREA_TYPE_NAMES.get(a["area_type"], a["area_type"])
    facts: list[tuple[str, str]] = [(f"{kind}", f"{esc(a['area_name'])} ({esc(a['area_code'])})")]
    if geo.get("lads") and a["area_type"] == "csp":
        noun = "Local authority" if len(geo["lads"]) == 1 else "Local authorities"
        facts.append((noun, "; ".join(f"{esc(x['name'])} ({esc(x['code'])}, {esc(x['relation'])})" for x in geo["lads"])))
    if geo.get("csps") and a["area_type"] == "lad":
        facts.append(("Partnerships", "; ".join(f"{esc(x['name'])} ({esc(x['relation'])})" for x in geo["csps"])))
    if geo.get("utlas"):
        facts.append(("Council area (upper tier)", "; ".join(esc(u["words"]) for u in geo["utlas"])))
    if geo.get("pfa") and a["area_type"] != "pfa":
        facts.append(("Police force area", esc(geo["pfa"]["name"])))
    if geo.get("region"):
        facts.append(("Region", esc(geo["region"]["name"])))
    facts.append(("Country", "Wales" if geo.get("country") == q.WALES else "England"))
    shown = rows[rows["geo_label"].ne("not available")] if "geo_label" in rows else rows.iloc[0:0]
    geos = list(dict.fromkeys(str(g) for g in shown["geo_label"].dropna()))
    facts.append(("Geographies used", "<br>".join(
        f"{esc(g)} ({int((shown['geo_label'] == g).sum())} figure{'s' if (shown['geo_label'] == g).sum() != 1 else ''})"
        for g in geos) or "none"))
    if inp.month:
        facts.append(("Month shown for monthly figures", esc(pr.period_words(inp.month, "month"))))
    made_words = made.strftime("%-d %B %Y, %H:%M UTC")
    built = _date_words(inp.built_at)
    facts.append(("Made", made_words + (f" from the warehouse built {esc(built)}" if built else "")))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    notes = []
    if geo.get("split_note"):
        notes.append(f"<p class='notice'>Split unitary authority: {esc(geo['split_note'])}</p>")
    for ne in geo.get("not_estimated", []):
        notes.append(f"<p class='notice'>Not estimated here: {esc(ne['reason'])}</p>")
    if "quality" in rows and rows["quality"].eq("synthetic").any():
        notes.append(f"<p class='notice synthetic'><span class='tag'>{esc(SYNTHETIC_WARNING)}</span>: generated "
                     "stand-ins where no real file is held, marked wherever they appear, never compared with a "
                     "benchmark and listed after the real figures.</p>")
    return (f"<header><h1>Serious violence profile: {esc(a['area_name'])}</h1>"
            f"<p class='lead'>Knife crime, hospital assaults, gangs and exploitation, and drugs: every figure at "
            f"the geography its publisher releases it at, compared with England &amp; Wales, the nation and the "
            f"force area or region.</p>"
            f"<section class='contents'><h2>{SECTION_CONTENTS}</h2><table class='facts'>{table}</table>"
            f"{''.join(notes)}<h3>How current the data are</h3>{_currency_table(inp)}</section></header>")


def _date_words(value: object) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        return pd.Timestamp(value).strftime("%-d %B %Y")
    except ValueError:
        return value


def _currency_table(inp: ReportInputs) -> str:
    """Per family and source: the latest period this report shows, and the latest period the
    loaded data hold (they differ when a month is chosen, or a figure is shown at another level)."""
    rows = inp.rows
    shown = rows[rows["area_code"].notna()] if "area_code" in rows else rows.iloc[0:0]
    cov = {str(r["source_id"]): r for r in inp.coverage.to_dict("records")} if not inp.coverage.empty else {}
    src = _source_lookup(inp.sources)
    body = []
    for fam in q.FAMILIES:
        fam_rows = shown[shown["family"] == fam]
        if fam_rows.empty:
            body.append(f"<tr><td>{esc(q.FAMILY_NAMES[fam])}</td><td colspan='3'>no figure for this area</td></tr>")
            continue
        fam_rows = fam_rows.assign(_sid=fam_rows["source_id"].astype(str).str.split("#").str[0])
        for sid, grp in fam_rows.groupby("_sid", sort=False):
            latest = grp.sort_values(["period_end", "period_start"]).iloc[-1]
            s = src.get(sid, {})
            c = cov.get(sid)
            held = _date_words(str(pd.Timestamp(c["last_period"]).date())) if c is not None and not _missing(
                c.get("last_period")) else ""
            qual = quality_words(latest.get("quality"))
            tag = " <span class='tag'>SYNTHETIC</span>" if latest.get("quality") == "synthetic" else ""
            body.append(
                f"<tr><td>{esc(q.FAMILY_NAMES[fam])}</td><td>{esc(s.get('publisher', ''))}: "
                f"{esc(s.get('title', sid))}{tag}</td><td>{esc(_period(latest))}</td>"
                f"<td>{('periods ending up to ' + esc(held)) if held else ''}<span class='unit'>{esc(qual)}</span></td></tr>")
    return ("<table class='currency'><colgroup><col style='width:19%'><col style='width:43%'><col style='width:16%'>"
            "<col style='width:22%'></colgroup><thead><tr><th>Family</th><th>Source (publisher: release)</th>"
            "<th>Latest period shown</th><th>Latest period in the data loaded</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _source_lookup(sources: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["source_id"]): r for r in sources.to_dict("records")} if not sources.empty else {}


def _summary(rows: pd.DataFrame) -> str:
    with_value = rows[rows["value"].notna()] if "value" in rows else rows.iloc[0:0]
    real = with_value[with_value["quality"].ne("synthetic")]
    fake = with_value[with_value["quality"].eq("synthetic")]
    parts = [f"<section class='summary'><h2>{SECTION_SUMMARY}</h2>"]
    # as on the page (app.profile.summary_groups): compared figures first, a shared "not compared"
    # reason said once above its figures
    items = "".join(f"<li>{esc(line)}" + ("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in subs) + "</ul>" if subs else "")
                    + "</li>" for line, subs in pr.summary_groups(real))
    parts.append(f"<ul>{items}</ul>" if items else "<p>No published figure is available for this area.</p>")
    if len(fake):
        parts.append(f"<p class='notice synthetic'><span class='tag'>{esc(SYNTHETIC_WARNING)}:</span></p><ul>"
                      + "".join(f"<li><span class='tag'>SYNTHETIC</span> {esc(s)}</li>"
                                                    for s in fake["summary"].dropna()) + "</ul>")
    parts.append("<p class='small'>\"Significantly higher/lower\" means the 95% confidence interval excludes the "
                 "benchmark; \"similar\" means it includes it. Synthetic figures are never compared.</p></section>")
    return "".join(parts)


def _outcomes_section(outcomes: pd.DataFrame | None) -> str:
    """The three Duty outcome measures, the same rows and words as the profile page's panel
    (`app.outcomes.outcomes_table`), each with its geography, trend, change and source."""
    if outcomes is None or outcomes.empty:
        return ""
    body = []
    for r in outcomes.to_dict("records"):
        fake = r.get("quality") == "synthetic"
        tag = "<span class='tag'>SYNTHETIC</span> " if fake else ""
        cls = " class='synthetic'" if fake else ""
        trend = esc(r.get("trend") or "") + (f"<span class='why'>{esc(r['trend_detail'])}</span>"
                                              if r.get("trend_detail") else "")
        source = esc(r.get("source") or "") + (f"<span class='unit'>{esc(quality_label(r['quality']))}</span>"
                                                if r.get("quality") else "")
        body.append(
            f"<tr{cls}><td>{tag}{esc(r['measure'])}<span class='unit'>"
            f"{esc(r['geography'])}</span></td><td>{esc(r.get('period') or '')}</td><td>{esc(r['figure'])}</td>"
            f"<td>{trend}</td><td>{esc(r.get('change') or '')}</td><td>{esc(r.get('how_current') or '')}</td>"
            f"<td>{source}</td></tr>")
    return (f"<section class='outcomes'><h2>{SECTION_OUTCOMES}</h2><p class='small'>{esc(oc.GEOGRAPHY_NOTE)}</p>"
            "<table class='figures'><colgroup><col style='width:19%'><col style='width:9%'><col style='width:14%'>"
            "<col style='width:16%'><col style='width:14%'><col style='width:10%'><col style='width:18%'></colgroup>"
            "<thead><tr><th>Measure (geography)</th><th>Period</th><th>Figure</th><th>Trend</th>"
            "<th>Change on a year earlier</th><th>How current</th><th>Source</th></tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")


def _bench_columns(fam_rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(benchmark name, header) in order of first appearance: 'England & Wales rate' when every
    figure set against it is a rate, else 'England figure'."""
    names: dict[str, bool] = {}
    for r in fam_rows.to_dict("records"):
        for i in (1, 2, 3):
            name = r.get(f"bench{i}_name")
            if isinstance(name, str) and name:
                names[name] = names.get(name, True) and is_rate(r)
    return [(n, f"{n} {'rate' if rate else 'figure'}") for n, rate in names.items()]


def _bench_cell(r: Mapping[str, Any], name: str) -> str:
    for i in (1, 2, 3):
        if r.get(f"bench{i}_name") == name:
            value = value_text(r.get(f"bench{i}_value"), r)
            label = r.get(f"bench{i}_label")
            # the verdict in short ("○ Not compared"); its reason and the benchmark's basis are in
            # the figure's source line and summary sentence
            short = label.split(":")[0] if isinstance(label, str) else ""
            return f"{esc(value)}" + (f"<span class='rating'>{esc(short)}</span>" if short else "")
    return ""


def _figure_table(fam_rows: pd.DataFrame, numbers: Mapping[int, int]) -> str:
    benches = _bench_columns(fam_rows)
    widths = [22, 14, 8, 6, 6, 9]
    rest = 100 - sum(widths) - 8
    bench_w = rest / max(len(benches), 1)
    cols = "".join(f"<col style='width:{w}%'>" for w in widths)
    cols += "".join(f"<col style='width:{bench_w:.1f}%'>" for _ in benches) + "<col style='width:8%'>"
    head = ("<tr><th>Indicator (unit)</th><th>Area the figure is for</th><th>Period</th><th>Count</th>"
            "<th>Value</th><th>95% interval</th>" + "".join(f"<th>{esc(h)}</th>" for _, h in benches)
            + "<th>Quality</th></tr>")
    body = []
    span = 4 + len(benches)
    for idx, r in zip(fam_rows.index, fam_rows.to_dict("records"), strict=True):
        synthetic = r.get("quality") == "synthetic"
        ref = f" [{numbers[idx]}]" if idx in numbers else ""
        title = (("<span class='tag'>SYNTHETIC</span> " if synthetic else "") + esc(r.get("title"))
                 + esc(ref) + f"<span class='unit'>{esc(r.get('unit'))}</span>")
        cls = " class='synthetic'" if synthetic else ""
        if not isinstance(r.get("area_code"), str):
            body.append(f"<tr{cls}><td>{title}</td><td>not available</td><td></td><td colspan='{span}'>"
                        f"{esc(r.get('suppressed_reason') or 'no figure available')}</td></tr>")
            continue
        if _missing(r.get("value")):
            value = "not shown" + f"<span class='why'>{esc(r.get('suppressed_reason') or 'no figure available')}</span>"
        else:
            value = esc(value_text(r.get("value"), r))
        lo, up = r.get("lower_ci"), r.get("upper_ci")
        span_word = "plausible range " if r.get("quality") == "modelled" else ""
        ci = f"{span_word}{value_text(lo, r)} to {value_text(up, r)}" if not (_missing(lo) or _missing(up)) else ""
        cells = [title, esc(r.get("geo_label")), esc(_period(r)), esc(count_text(r.get('count'))),
                 value, esc(ci)] + [_bench_cell(r, n) for n, _ in benches] + [esc(quality_words(r.get("quality")))]
        body.append(f"<tr{cls}>" + "".join(
            f"<td class='num'>{c}</td>" if i in (3, 4) else f"<td>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
    return (f"<table class='figures'><colgroup>{cols}</colgroup><thead>{head}</thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _source_line(r: Mapping[str, Any], src: Mapping[str, Any]) -> str:
    parts = [f"<b>{esc(r.get('title'))}</b>, {esc(r.get('geo_label'))}."]
    publisher = src.get("publisher") or r.get("publisher")
    release = src.get("title") or r.get("source_title")
    detail = [x for x in (_text(src.get("file_name")), f"loaded {_date_words(str(src.get('retrieved_at'))[:10])}"
                          if not _missing(src.get("retrieved_at")) else "") if x]
    parts.append(f"Source: {esc(publisher)}, <i>{esc(release)}</i>" + (f" ({esc('; '.join(detail))})" if detail else "")
                 + ".")
    parts.append(f"Period: {esc(_period(r))}.")
    qual = r.get("quality")
    parts.append(f"Quality: {'<span class=tag>' if qual == 'synthetic' else ''}{esc(quality_words(qual))}"
                 f"{'</span>' if qual == 'synthetic' else ''}.")
    benches = [f"{esc(r.get(f'bench{i}_phrase') or r.get(f'bench{i}_name'))} "
               f"({esc(r.get(f'bench{i}_name'))}: {esc(r.get(f'bench{i}_basis') or 'as published')})"
               for i in (1, 2, 3) if isinstance(r.get(f"bench{i}_name"), str)]
    if benches:
        parts.append("Comparisons: " + "; ".join(benches) + ".")
    if isinstance(r.get("method"), str) and r.get("method"):
        parts.append(f"Method: {esc(str(r['method']).rstrip('.'))}.")
    if isinstance(r.get("note"), str) and r.get("note"):
        parts.append(f"Note: {esc(str(r['note']).rstrip('.'))}.")
    if isinstance(r.get("definition"), str) and r.get("definition"):
        parts.append(f"Definition: {esc(r['definition'])}")
    return " ".join(parts)


def _chart(r: Mapping[str, Any], lines: Sequence[Line], number: int) -> str:
    qual = r.get("quality")
    shown = len(lines[0].points) if lines else 0
    label = (f"Trend of {r.get('title')} for {lines[0].name if lines else ''}"
             + (f" against {', '.join(ln.name for ln in lines[1:])}" if len(lines) > 1 else "")
             + f", {shown} periods to {_period(r)}" + (f"; {SYNTHETIC_WARNING}" if qual == "synthetic" else ""))
    warning = quality_wording(qual, "sentence")  # synthetic and modelled figures only
    tag = f"<span class='tag'>{esc(warning)}</span> " if warning else ""
    cls = f" class='{qual}'" if qual in ("synthetic", "modelled") else ""
    return (f"<figure{cls}><figcaption>{tag}<b>{esc(r.get('title'))} [{number}]</b>: {esc(r.get('geo_label'))}; "
            f"{esc(r.get('unit'))}; latest {esc(_period(r))}"
            + (f"; the latest {MAX_PERIODS} periods" if shown >= MAX_PERIODS else "")
            + _trend_words(r)
            + f"</figcaption>{trend_svg(lines, unit=str(r.get('unit') or ''), label=label)}</figure>")


def _trend_words(r: Mapping[str, Any]) -> str:
    """The row's recent-trend marker (app.trends, as on the profile, Compare and the CSVs)."""
    if _missing(r.get("trend")):
        return ""
    detail = "" if _missing(r.get("trend_detail")) else f" ({esc(r.get('trend_detail'))})"
    return f"<br>Recent trend: {esc(r.get('trend'))}{detail}"


def _family_section(fam: str, fam_rows: pd.DataFrame, inp: ReportInputs, numbers: Mapping[int, int]) -> str:
    src = _source_lookup(inp.sources)
    parts = [f"<section class='family' id='{esc(fam)}'><h2>{esc(q.FAMILY_NAMES[fam])}</h2>"]
    with_fig = fam_rows[fam_rows["area_code"].notna()] if "area_code" in fam_rows else fam_rows.iloc[0:0]
    absent = len(fam_rows) - len(with_fig)
    parts.append(f"<p class='small'>{len(with_fig)} figure{'s' if len(with_fig) != 1 else ''} for this area"
                 + (f"; {absent} not available here (reasons in the table)" if absent else "") + ".</p>")
    charts = [_chart(r, inp.trends[i], numbers[i]) for i, r in zip(fam_rows.index, fam_rows.to_dict("records"),
                                                                    strict=True) if inp.trends.get(i)]
    if charts:
        parts.append("<h3>Trends</h3><p class='small'>The area's values with 95% intervals as bars (a plausible "
                     "range for modelled figures); benchmarks as dashed lines, counted as in the table. A line is "
                     "not drawn across a missing period.</p>")
        parts.append(f"<div class='charts'>{''.join(charts)}</div>")
    parts.append("<h3>Figures</h3>")
    parts.append(_figure_table(fam_rows, numbers))
    notes = [f"<li value='{numbers[i]}'>{_source_line(r, src.get(str(r.get('source_id') or '').split('#')[0], {}))}</li>"
             for i, r in zip(fam_rows.index, fam_rows.to_dict("records"), strict=True) if i in numbers]
    if notes:
        parts.append(f"<h3>Sources</h3><ol class='notes'>{''.join(notes)}</ol>")
    parts.append("</section>")
    return "".join(parts)


METHODS_HTML = """
<ul>
<li><b>Geography.</b> Each figure is shown at the geography its publisher releases it at, labelled: police.uk
street-level records are placed in the partnership from their LSOA; knife offences are published per police force
area; hospital admissions for assault by a sharp object per English region of residence; children-in-need
assessment factors per upper-tier council; drug deaths per local authority. A figure for a larger area is never
presented as the partnership's own.</li>
<li><b>Rates and intervals.</b> Crude rate = count / ONS mid-year population x 100,000 (per 10,000 children for
children's social care). 95% intervals: Byar's approximation for counts of 10 or more, exact Poisson below 10;
proportions: Wilson score; Fingertips figures carry the publisher's own limits. A modelled figure carries a
plausible range from its method, not a confidence interval.</li>
<li><b>Comparisons.</b> "Significantly higher" or "lower" when the 95% interval excludes the benchmark, "similar"
when it includes it; better or worse by the indicator's polarity, and no better/worse judgement for offences mostly
found by police activity (drugs, possession of weapons). The benchmark counts as the figure does (for police.uk,
records placed in partnerships of forces with a complete month, over their population); each benchmark's basis is in
the table. Figures with a known recording change, synthetic figures and rates on fewer than 10 events are not
compared.</li>
<li><b>Missing and partial months.</b> A police force month with no police.uk file is missing, never zero; a file
well below the force's neighbouring months is partial and withheld. Trend lines are not drawn across a missing
period.</li>
<li><b>Disclosure control.</b> Health counts of 1-7 are suppressed, rates are withheld under 10 events and
secondary suppression protects totals; the same rules apply to the screen, the CSV and this report.</li>
<li><b>Quality labels.</b> <i>official</i>: published statistics; <i>modelled</i>: our estimate from published
figures, method stated; <i>local</i>: supplied by the partnership; <span class='tag'>SYNTHETIC</span>: a generated
stand-in where no real file is held, shown for demonstration, never compared and never a headline.</li>
<li><b>Trends.</b> Charts show at most the latest 15 periods of the figure's own period type (annual figures are not
mixed with quarters or months). Each chart's caption gives the recent trend as the dashboard does (chi-squared
test for trend over the latest five annual figures, never across a series break); the Area profile page adds
control charts for monthly series.</li>
</ul>
"""


def _sources_section(inp: ReportInputs) -> str:
    used = {str(s).split("#")[0] for s in inp.rows.get("source_id", pd.Series(dtype=object)).dropna()}
    items = []
    for s in inp.sources.to_dict("records"):
        if str(s.get("source_id")) not in used:
            continue
        tag = "<span class='tag'>SYNTHETIC</span> " if s.get("quality") == "synthetic" else ""
        items.append(f"<li>{tag}{esc(s.get('publisher'))}: <i>{esc(s.get('title'))}</i> ({esc(s.get('licence'))}). "
                     f"{esc(s.get('attribution'))}</li>")
    return (f"<h2>{SECTION_SOURCES}</h2><ul class='small'>{''.join(items)}</ul>"
            "<p class='small'>Made with the serious violence dashboard (open source, MIT licence). Data: Crown "
            "copyright and database right, Open Government Licence v3.0, unless stated above.</p>")


def section_headings(inp: ReportInputs) -> list[str]:
    """The headings every report of these inputs has, in order (for tests and the PDF check)."""
    fams = [q.FAMILY_NAMES[f] for f in q.FAMILIES if (inp.rows["family"] == f).any()]
    outcomes = [SECTION_OUTCOMES] if inp.outcomes is not None and not inp.outcomes.empty else []
    return [SECTION_CONTENTS, SECTION_SUMMARY, *outcomes, *fams, SECTION_METHODS, SECTION_SOURCES]


def report_html(inp: ReportInputs, made: datetime | None = None) -> str:
    """The whole report as one self-contained HTML document (no scripts, no external resource)."""
    made = made or datetime.now(timezone.utc)
    a = inp.geo["area"]
    numbers: dict[int, int] = {}
    for i, r in zip(inp.rows.index, inp.rows.to_dict("records"), strict=True):
        if isinstance(r.get("area_code"), str):
            numbers[int(i)] = len(numbers) + 1
    footer = css_string(f"Serious violence profile: {a['area_name']} ({a['area_code']}), "
                        f"made {made.strftime('%-d %B %Y')}")
    css = CSS.replace("FOOTER", footer)
    families = "".join(_family_section(f, inp.rows[inp.rows["family"] == f], inp, numbers)
                       for f in q.FAMILIES if (inp.rows["family"] == f).any())
    title = f"Serious violence profile: {a['area_name']}"
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{esc(title)}</title>"
        f"<style>{css}</style></head><body>"
        f"{_title_block(inp, made)}{_summary(inp.rows)}{_outcomes_section(inp.outcomes)}{families}"
        f"<section class='methods'><h2>{SECTION_METHODS}</h2>{METHODS_HTML}{_sources_section(inp)}</section>"
        "</body></html>")


# ---------------------------------------------------------------- PDF
def chromium_path() -> str | None:
    """The Chromium to print with: env SVD_CHROMIUM, else the first Chromium or Chrome on PATH."""
    env = os.environ.get("SVD_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def pdf_available() -> bool:
    return chromium_path() is not None


def html_to_pdf(document: str, *, timeout: float = PDF_TIMEOUT_S) -> bytes:
    """Print `document` to PDF with headless Chromium (page size and margins from its CSS
    `@page`, no browser header or footer). A fresh profile folder per call, so two prints at
    once never share a lock. `--no-sandbox` because the server may run as root (Chromium then
    refuses its sandbox); the document is our own, escaped, and its Content-Security-Policy
    forbids scripts and every fetch. Raises PdfUnavailable with the reason."""
    exe = chromium_path()
    if exe is None:
        raise PdfUnavailable("no Chromium browser is installed on this server")
    with tempfile.TemporaryDirectory(prefix="svd-report-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(document, encoding="utf-8")
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--no-first-run",
               "--disable-extensions", "--disable-background-networking", "--disable-dev-shm-usage",
               f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}", src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"Chromium did not finish printing within {timeout:.0f} s") from None
        except OSError as exc:
            raise PdfUnavailable(f"Chromium could not be started ({exc.strerror or exc})") from None
        data = out.read_bytes() if out.is_file() else b""
        if not data.startswith(b"%PDF"):
            last = (proc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise PdfUnavailable(f"Chromium did not produce a PDF (exit code {proc.returncode}) {last[0][:200]}".strip())
        return data


# ---------------------------------------------------------------- cached entry points for the page
def report_file_name(code: str, month: str | None, ext: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "", f"{code}_{month or 'latest'}")
    return f"serious_violence_profile_{safe}.{ext}"


# The cache key holds the warehouse version and the day: the report says how many months old each
# Duty outcome figure is "before today", so a report built yesterday must not be served today.
@lru_cache(maxsize=16)
def _cached_html(code: str, month: str | None, version: str | None, today: date) -> str | None:
    inp = report_inputs(code, month, today)
    return None if inp is None else report_html(inp)


@lru_cache(maxsize=8)
def _cached_pdf(code: str, month: str | None, version: str | None, today: date) -> bytes:
    document = _cached_html(code, month, version, today)
    if document is None:
        raise PdfUnavailable(f"no area with code {code}")
    return html_to_pdf(document)


def profile_report_html(code: str, month: str | None, today: date | None = None) -> str:
    """The report for an area and month, cached per warehouse version (inode + mtime + size) and day."""
    document = _cached_html(code, month, q.warehouse_version(), today or date.today())
    if document is None:
        raise KeyError(f"no area with code {code}")
    return document


def profile_report_pdf(code: str, month: str | None, today: date | None = None) -> bytes:
    """The report printed to A4 PDF, cached like the HTML. Raises PdfUnavailable."""
    return _cached_pdf(code, month, q.warehouse_version(), today or date.today())
