"""A static SVG choropleth: data in, one HTML string out (no streamlit, no plotly).

Why: the plotly map makes every fresh visit download and compile a 4.7 MB bundle (3-7 s on two
cores); this map is plain markup the browser draws at once, works offline, and each shape is a
link to its area's profile. The interactive plotly map stays on the page behind a toggle.

Drawing: lon/lat are projected equirectangularly (x scaled by cos of the middle latitude, fine
for England & Wales) onto an integer grid of 1/1000 degree (~110 m), and written as relative
path commands, so neighbours round a shared vertex alike and shared edges stay shared. One
<path data-unit=...> per map unit (every part of a MultiPolygon in the one `d`).
Colours: viridis (colour-blind safe, readable in greyscale), up to 7 quantile groups (about as
many shapes in each); the legend states the breaks, the unit and the period. Shapes without a
value are light grey with a diagonal hatch and have their own legend entry, so colour is never
the only signal; each shape's <title> (the hover tooltip) gives name, value and unit, the 95%
interval (a "plausible range" for a modelled figure), quality, and the quality's warning words (methods.wording).
All text is escaped with app.safe_text.html, line breaks as `&#10;`: the fragment is handed to
markdown as one raw-HTML block, and a blank line in any value (a partner's notes) would end that
block and show the rest of the markup as text.
Imports: math, urllib, numpy, pandas, app.safe_text.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from app.indicator_format import number, quality_label, quality_warnings, registry_of, with_unit
from app.safe_text import html as _html_text

# viridis sampled at 7 even steps (dark purple = lowest, yellow = highest)
VIRIDIS_7 = ["#440154", "#443983", "#31688E", "#21918C", "#35B779", "#90D743", "#FDE725"]
NO_DATA_FILL = "#E4E4E4"
NO_DATA_HATCH = "#8C8C8C"
GRID = 1000  # grid points per degree: ~110 m north-south
MAP_W, MAP_H = 560, 660  # the map's largest drawn size in CSS pixels
# The legend is its own SVG drawn at 1:1 (14px text), beside the map on a wide screen and
# wrapped below it on a narrow one: inside one 880-unit picture it shrank to 6px text on a
# 375px phone. LEGEND_W fits a phone's content column (375px less Streamlit's padding).
LEGEND_X, LEGEND_W = 2, 300


def esc(text: object) -> str:
    """Escaped for HTML text and quoted attributes; line breaks kept as `&#10;` (never a raw
    newline, so the markup never holds a blank line)."""
    return _html_text(text, newlines="&#10;")


# ---------------------------------------------------------------- geometry
def _polygons(geometry: Mapping[str, Any]) -> list[list]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


def _bounds(features: Sequence[Mapping[str, Any]]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for f in features:
        for poly in _polygons(f["geometry"]):
            for ring in poly:
                xs += [p[0] for p in ring]
                ys += [p[1] for p in ring]
    if not xs:
        return (0.0, 0.0, 1.0, 1.0)
    return min(xs), min(ys), max(xs), max(ys)


def path_d(geometry: Mapping[str, Any], lon0: float, lat1: float, kx: float) -> str:
    """SVG path data for a (Multi)Polygon: absolute start of each ring, then relative steps
    between grid-rounded points (repeated points dropped), `z` closing each ring."""
    parts: list[str] = []
    for poly in _polygons(geometry):
        for ring in poly:
            pts: list[tuple[int, int]] = []
            for lon, lat, *_ in ring:
                pt = (round((lon - lon0) * kx * GRID), round((lat1 - lat) * GRID))
                if not pts or pt != pts[-1]:
                    pts.append(pt)
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts.pop()
            if len(pts) < 3:
                continue
            x0, y0 = pts[0]
            steps = [f"{x - px} {y - py}" for (px, py), (x, y) in zip(pts, pts[1:], strict=False)]
            parts.append(f"M{x0} {y0}l" + " ".join(steps) + "z")
    return "".join(parts).replace(" -", "-")


# ---------------------------------------------------------------- colours
def breaks(values: Iterable[float], bins: int = 7) -> list[float]:
    """Quantile break points (min, inner breaks, max), duplicates dropped: len - 1 groups."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return []
    edges = np.unique(np.quantile(v, np.linspace(0, 1, max(1, bins) + 1)))
    if edges.size == 1:
        return [float(edges[0]), float(edges[0])]
    return [float(e) for e in edges]


def palette(n: int) -> list[str]:
    if n <= 0:
        return []
    idx = np.round(np.linspace(0, len(VIRIDIS_7) - 1, n)).astype(int) if n > 1 else [len(VIRIDIS_7) // 2]
    return [VIRIDIS_7[i] for i in idx]


def group_of(value: float, edges: Sequence[float]) -> int:
    """Index of the group holding `value`: [e0, e1), [e1, e2), ..., [e_{n-1}, e_n] (last closed)."""
    return int(np.clip(np.searchsorted(edges[1:-1], value, side="right"), 0, max(0, len(edges) - 2)))


# ---------------------------------------------------------------- text
def _quality_words(quality: object) -> list[str]:
    return quality_warnings(quality if isinstance(quality, str) else "")


def tooltip(row: Mapping[str, Any], unit: str, link_name: str | None = None) -> str:
    """Plain text for a shape's <title>: `label` when given (app.mapdata), else built here."""
    label = row.get("label")
    if isinstance(label, str) and label:
        lines = label.split("\n")
    else:
        lines = [str(row.get("members") or row.get("map_unit"))]
        if pd.isna(row.get("value")):
            lines.append("no data")
        else:
            span = "plausible range" if row.get("quality") == "modelled" else "95% interval"
            lines += [with_unit(number(row["value"], row), unit), f"{span} {number(row.get('lower_ci'), row)} to "
                      f"{number(row.get('upper_ci'), row)}", f"quality: {quality_label(row.get('quality'))}"]
    lines += _quality_words(row.get("quality"))
    if link_name:
        lines.append(f"Select to open the profile of {link_name}")
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        else:
            out.append(word)
    return out or [""]


def _hatch(dom_id: str, k: float) -> str:
    """Light grey with dark diagonal lines, `k` user units per screen unit."""
    w = f"{8 * k:.2f}"
    return (f'<pattern id="{dom_id}" patternUnits="userSpaceOnUse" width="{w}" height="{w}"'
            f' patternTransform="rotate(45)"><rect width="{w}" height="{w}" fill="{NO_DATA_FILL}"/>'
            f'<line x1="0" y1="0" x2="0" y2="{w}" stroke="{NO_DATA_HATCH}" stroke-width="{2.5 * k:.2f}"/></pattern>')


# ---------------------------------------------------------------- the map
def svg_map(
    units: pd.DataFrame,
    geojson: Mapping[str, Any],
    *,
    title: str,
    unit: str,
    period: str,
    links: Mapping[str, str] | None = None,
    link_names: Mapping[str, str] | None = None,
    bins: int = 7,
    href: str = "./Area_profile?area={code}",
    dom_id: str = "svd-map",
) -> str:
    """The map as one HTML fragment (a <div> holding a heading and an <svg>), with no blank
    lines, so markdown passes it through as a single raw-HTML block.

    `units`: one row per map unit (app.mapdata.map_units: map_unit, value, lower_ci, upper_ci,
    quality, label, members). `geojson`: a FeatureCollection with feature id = map unit; one
    <path> is drawn per feature. `links`: map unit -> area code its shape opens (for a shape
    shared by several areas, the first); `link_names`: area code -> name (for the tooltip)."""
    features = [f for f in geojson.get("features", []) if _polygons(f.get("geometry") or {"type": ""})]
    rows = {r["map_unit"]: r for r in units.drop_duplicates("map_unit").to_dict("records")}
    vals = [float(rows[f["id"]]["value"]) for f in features
            if f["id"] in rows and not pd.isna(rows[f["id"]]["value"])]
    edges = breaks(vals, bins)
    reg = registry_of(units)  # the indicator's multiplier and decimals (data/indicators.csv)
    colours = palette(max(0, len(edges) - 1))
    links = links or {}
    link_names = link_names or {}

    x_min, y_min, x_max, y_max = _bounds(features)
    kx = math.cos(math.radians((y_min + y_max) / 2))
    gw, gh = max(1, round((x_max - x_min) * kx * GRID)), max(1, round((y_max - y_min) * GRID))
    hatch = f"{dom_id}-nodata"

    paths: list[str] = []
    n_missing = 0
    for f in sorted(features, key=lambda f: str(f["id"])):
        mu = str(f["id"])
        row = rows.get(mu, {"map_unit": mu, "members": (f.get("properties") or {}).get("names", mu),
                            "value": None, "label": None, "quality": None})
        value = row.get("value")
        if value is None or pd.isna(value):
            fill, n_missing, vattr = f"url(#{hatch})", n_missing + 1, ""
        else:
            fill, vattr = colours[group_of(float(value), edges)], f' data-value="{float(value):.6g}"'
        code = links.get(mu)
        tip = tooltip(row, unit, link_names.get(code, code) if code else None)
        path = (f'<path data-unit="{esc(mu)}"{vattr} fill="{fill}" d="{path_d(f["geometry"], x_min, y_max, kx)}">'
                f"<title>{esc(tip)}</title></path>")
        if code:
            path = f'<a href="{esc(href.format(code=quote(str(code), safe="")))}" target="_self">{path}</a>'
        paths.append(path)

    # legend: unit, period, one swatch per group with its range, then the hatched no-data entry
    legend = [f'<text x="{LEGEND_X}" y="18" font-weight="bold">Legend</text>']
    y = 40
    for line in _wrap(unit, 34):
        legend.append(f'<text x="{LEGEND_X}" y="{y}">{esc(line)}</text>')
        y += 18
    legend.append(f'<text x="{LEGEND_X}" y="{y}">Period: {esc(period)}</text>')
    y += 26
    for i, colour in enumerate(colours):
        lo, hi = edges[i], edges[i + 1]
        text = f"{number(lo, reg)} to {number(hi, reg)}" if hi > lo else number(lo, reg)
        legend.append(f'<rect x="{LEGEND_X}" y="{y - 13}" width="26" height="17" fill="{colour}" stroke="#555"'
                      f' stroke-width="0.5"/><text x="{LEGEND_X + 34}" y="{y}">{esc(text)}</text>')
        y += 24
    legend.append(f'<rect x="{LEGEND_X}" y="{y - 13}" width="26" height="17" fill="url(#{hatch}-key)" stroke="#555"'
                  f' stroke-width="0.5"/><text x="{LEGEND_X + 34}" y="{y}">No data ({n_missing} shapes)</text>')
    y += 30
    note = (f"Groups: {len(colours)} quantiles (about equal numbers of shapes), low (dark) to high (yellow)"
            if colours else "No shape has a value for this period")
    for line in _wrap(note, 40) + _wrap("Select a shape to open its profile.", 40):
        legend.append(f'<text x="{LEGEND_X}" y="{y}" font-size="12">{esc(line)}</text>')
        y += 16
    warnings = _quality_words(",".join(str(q) for q in units.get("quality", pd.Series(dtype=object)).dropna()))
    for w in warnings:
        y += 6
        for line in _wrap(w, 36):
            legend.append(f'<text x="{LEGEND_X}" y="{y}" font-weight="bold" fill="#B00020">{esc(line)}</text>')
            y += 18

    n_val = len(features) - n_missing
    summary = (f"{title}. {n_val} of {len(features)} shapes have a value"
               + (f", from {number(edges[0], reg)} to {with_unit(number(edges[-1], reg), unit)}" if edges else "")
               + f"; {n_missing} shapes have no data (grey, hatched).")
    desc = (summary + " Colour groups: "
            + "; ".join(f"{number(edges[i], reg)} to {number(edges[i + 1], reg)}" for i in range(len(colours)))
            + ". The table below the map lists every area.")
    head = f'<p style="font-weight:600;margin:0 0 0.25rem 0">{esc(title)}</p>'
    if warnings:
        head += f'<p style="color:#B00020;font-weight:600;margin:0 0 0.25rem 0">{esc("; ".join(warnings))}</p>'
    scale = min(MAP_W / gw, MAP_H / gh)
    width = gw * scale
    # role="group", not "img": an img's children are presentational, and these shapes are links
    # (axe's nested-interactive rule); the summary and description still name the map.
    return (
        f'<div class="svd-svgmap" id="{esc(dom_id)}">{head}'
        '<div style="display:flex;flex-wrap:wrap;gap:0.5rem 1.5rem;align-items:flex-start">'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {gw} {gh}" role="group"'
        f' aria-label="{esc(summary)}" style="flex:1 1 {min(width, 320):.0f}px;max-width:{width:.0f}px;'
        'min-width:0;height:auto">'
        f"<title>{esc(summary)}</title><desc>{esc(desc)}</desc>"
        f"<defs>{_hatch(hatch, 1 / scale)}</defs>"
        f'<g stroke="#FFFFFF" stroke-width="{0.6 / scale:.2f}" stroke-linejoin="round">'
        + "".join(paths)
        + "</g></svg>"
        f'<svg xmlns="http://www.w3.org/2000/svg" class="svd-map-legend" viewBox="0 0 {LEGEND_W} {y + 4}"'
        f' width="{LEGEND_W}" height="{y + 4}" style="flex:0 0 auto;max-width:100%;height:auto"'
        ' font-family="sans-serif" font-size="14" fill="#222">'
        f"<defs>{_hatch(hatch + '-key', 1.0)}</defs>"
        + "".join(legend)
        + "</svg></div></div>"
    )
