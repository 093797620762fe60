"""Turn per-area map values into one row per map unit, with hover text.

Why: several CSPs inside a split unitary authority share one boundary shape (boundaries.map_unit),
so the map must draw that shape once. Its value is the combined rate of its CSPs (summed counts
over summed populations, interval from `methods.rates.crude_rate`) when every member has both;
otherwise it is drawn grey and the hover says why. Values go through the disclosure view first.
`display_geojson` rounds boundary coordinates for drawing only (smaller figure, same picture).
Imports: pandas, methods, app.disclosure_view.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from app.disclosure_view import control
from app.indicator_format import is_crude_rate, multiplier_of, number, quality_label, registry_of, with_unit
from app.safe_text import plotly_text
from methods.rates import crude_rate

REGISTRY_COLUMNS = ["multiplier", "decimals", "value_type"]


def map_units(values: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One row per map unit: map_unit, value, lower_ci, upper_ci, quality, hover (plotly markup),
    label (the same text, plain, one line per row), members, and the indicator's registry
    multiplier, decimals and value type (numbers are written with them)."""
    v = control(values) if not values.empty else values
    reg = registry_of(values) or {}
    rows = []
    for mu, grp in v.groupby("map_unit", sort=True):
        names = ", ".join(sorted(grp["area_name"]))
        qual = ", ".join(sorted(set(grp["quality"].dropna()))) or None
        if len(grp) == 1:
            r = grp.iloc[0]
            value, lo, up = r["value"], r["lower_ci"], r["upper_ci"]
            why = r["suppressed_reason"] if isinstance(r["suppressed_reason"], str) else r.get("note")
            lines = [names]
            if isinstance(r.get("comparison_phrase"), str):  # app.benchmarks: as on the profile
                lines.append(r["comparison_phrase"])
            if isinstance(r.get("region_phrase"), str):  # a council against its region, as on the profile
                lines.append(r["region_phrase"])
        else:
            counts, pops = grp["count"], grp["denominator"]
            lines = [names, f"({len(grp)} partnerships drawn as one shape)"]
            if counts.notna().all() and pops.notna().all() and is_crude_rate(reg):
                res = crude_rate(float(counts.sum()), float(pops.sum()))
                value, lo, up, why = res.value, res.lower, res.upper, None
                lines.append("combined figure for the shape")
            else:
                value = lo = up = None
                why = "several partnerships share this shape and no combined figure can be made"
                notes = grp["note"].dropna().unique() if "note" in grp else []
                if len(notes):
                    why += f" ({notes[0]})"
        if value is None or pd.isna(value):
            lines.append("no data" + (f": {why}" if isinstance(why, str) and why else ""))
        else:
            span = "plausible range" if qual == "modelled" else "95% interval"  # a modelled range is not a CI
            lines += [with_unit(number(value, reg), unit), f"{span} {number(lo, reg)} to {number(up, reg)}",
                      f"quality: {quality_label(qual) if qual and ',' not in qual else qual}"]
        # hover: plotly's markup (bold name, <br>; names and notes escaped, since plotly renders
        # <a href>, <b> and friends, and decodes no &quot;); label: the same lines as plain text
        text = "<br>".join([f"<b>{plotly_text(lines[0])}</b>", *(plotly_text(x) for x in lines[1:])])
        label = "\n".join(lines)
        rows.append({"map_unit": mu, "value": value, "lower_ci": lo, "upper_ci": up, "quality": qual,
                     "hover": text, "label": label, "members": names,
                     **{c: reg.get(c) for c in REGISTRY_COLUMNS}})
    out = pd.DataFrame(rows, columns=["map_unit", "value", "lower_ci", "upper_ci", "quality", "hover", "label",
                                     "members", *REGISTRY_COLUMNS])
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out


def funnel_per(info: Mapping[str, Any] | pd.Series | None) -> float | None:
    """The multiplier of a crude rate a funnel plot can be drawn for, in the figure's own unit
    (the registry's multiplier: 100,000 people, 10,000 children; never converted); None for
    standardised rates, percentages and counts (their limits are not Poisson limits on a count
    over a population)."""
    if not is_crude_rate(info):
        return None
    m = multiplier_of(info)
    return float(m) if m in (10_000, 100_000) else None


DISPLAY_DIGITS = 3  # ~110 m north-south, ~70 m east-west: below a pixel until zoom ~10


def _round_ring(ring: list, digits: int) -> list:
    out: list = []
    for x, y, *_ in ring:
        pt = [round(x, digits), round(y, digits)]
        if not out or pt != out[-1]:
            out.append(pt)
    return out


def display_geojson(geojson: dict, digits: int = DISPLAY_DIGITS) -> dict:
    """A copy of a FeatureCollection for drawing only: coordinates rounded to `digits` decimals
    and repeated points dropped. Neighbours round a shared vertex the same way, so shared edges
    stay shared; a ring that collapses below 4 points is dropped (a polygon whose outer ring
    collapses is dropped, never its whole feature: the feature keeps its largest parts). The
    stored boundaries are untouched."""
    def polygon(rings: list) -> list | None:
        outer = _round_ring(rings[0], digits)
        if len(outer) < 4:
            return None
        return [outer] + [r for r in (_round_ring(r, digits) for r in rings[1:]) if len(r) >= 4]

    features = []
    for f in geojson["features"]:
        g = f["geometry"]
        if g["type"] == "Polygon":
            p = polygon(g["coordinates"])
            geom = {"type": "Polygon", "coordinates": p} if p else g
        elif g["type"] == "MultiPolygon":
            parts = [p for p in (polygon(rings) for rings in g["coordinates"]) if p]
            geom = {"type": "MultiPolygon", "coordinates": parts} if parts else g
        else:
            geom = g
        features.append({**f, "geometry": geom})
    return {**geojson, "features": features}
