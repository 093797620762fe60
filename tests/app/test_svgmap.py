"""The static SVG map builder (app.svgmap) on small hand-made shapes: one path per map unit,
no-data shapes hatched and in the legend, text escaped, links to the right profile, and
tooltips that carry value, interval and quality."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from app.mapdata import map_units
from app.svgmap import VIRIDIS_7, breaks, group_of, path_d, svg_map

SVG = "{http://www.w3.org/2000/svg}"


def square(x: float, y: float, d: float = 0.5) -> list:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": "U1", "properties": {"names": "Alpha"},
     "geometry": {"type": "Polygon", "coordinates": square(-2.0, 52.0)}},
    {"type": "Feature", "id": "U2", "properties": {"names": "Beta & <Gamma>"},
     "geometry": {"type": "MultiPolygon", "coordinates": [square(-1.5, 52.0), square(-1.0, 52.5, 0.2)]}},
    {"type": "Feature", "id": "U3", "properties": {"names": "Delta"},
     "geometry": {"type": "Polygon", "coordinates": square(-2.0, 52.5)}},
    {"type": "Feature", "id": "U4", "properties": {"names": "Epsilon"},
     "geometry": {"type": "Polygon", "coordinates": square(-1.5, 52.5)}},
]}
UNIT = "offences per 100,000 residents"


def values() -> pd.DataFrame:
    """map_values-shaped rows: U2 is shared by two areas (one without data), U3 has no value."""
    rows = [
        ("E1", "Alpha", "U1", 10.0, 8.0, 12.5, "official", 50.0, 500_000.0),
        ("E2", "Beta & <Gamma>", "U2", 20.0, 15.0, 25.0, "official", 40.0, 200_000.0),
        ("E5", "Zeta \"quoted\"", "U2", None, None, None, None, None, None),
        ("E3", "Delta", "U3", None, None, None, None, None, None),
        ("E4", "Epsilon", "U4", 33.3, 30.1, 36.6, "synthetic", 100.0, 300_000.0),
    ]
    df = pd.DataFrame(rows, columns=["area_code", "area_name", "map_unit", "value", "lower_ci", "upper_ci",
                                     "quality", "count", "denominator"])
    df["suppressed_reason"] = None
    df["note"] = None
    df["is_health_source"] = False
    return df


def build(**kw) -> str:
    v = values()
    links = v.groupby("map_unit", sort=False)["area_code"].first().to_dict()
    names = dict(zip(v["area_code"], v["area_name"], strict=True))
    args = {"title": "Test <indicator> & co, 2024", "unit": UNIT, "period": "2024", "links": links,
            "link_names": names} | kw
    return svg_map(map_units(v, UNIT), GEOJSON, **args)


@pytest.fixture
def doc() -> ET.Element:
    return ET.fromstring(build())  # well-formed XML, so every text was escaped


def paths(doc: ET.Element) -> dict[str, ET.Element]:
    found = list(doc.iter(f"{SVG}path"))
    out = {p.get("data-unit"): p for p in found}
    assert len(out) == len(found)
    return out


def title_of(el: ET.Element) -> str:
    return el.find(f"{SVG}title").text


def test_one_path_per_map_unit(doc):
    ps = paths(doc)
    assert sorted(ps) == ["U1", "U2", "U3", "U4"]
    assert ps["U2"].get("d").count("M") == 2  # both parts of the MultiPolygon in one path
    svg = next(doc.iter(f"{SVG}svg"))  # the map; the legend is a second SVG beside (or below) it
    assert svg.get("role") == "group" and "4 shapes" in svg.get("aria-label")  # shapes are links: not "img"
    assert svg.find(f"{SVG}desc") is not None and svg.find(f"{SVG}title") is not None


def test_no_data_is_hatched_and_in_the_legend(doc):
    ps = paths(doc)
    pattern = next(doc.iter(f"{SVG}pattern"))
    assert pattern.find(f"{SVG}line") is not None and pattern.get("patternTransform") == "rotate(45)"
    assert ps["U3"].get("fill") == f"url(#{pattern.get('id')})"
    assert ps["U2"].get("fill").startswith("url(#")  # shared shape, one member without data: no value
    assert "no data" in title_of(ps["U3"])
    legend = [t.text for t in doc.iter(f"{SVG}text")]
    assert "No data (2 shapes)" in legend
    assert any(t and t.startswith("Period: 2024") for t in legend)
    assert any(t and "100,000" in t for t in legend)
    assert {ps[u].get("fill") for u in ("U1", "U4")} <= set(VIRIDIS_7)


def test_text_is_escaped():
    raw = build()
    assert "Beta &amp; &lt;Gamma&gt;" in raw and "<Gamma>" not in raw
    assert "Test &lt;indicator&gt; &amp; co" in raw
    assert "Zeta &quot;quoted&quot;" in raw


def test_links_open_the_first_area_of_each_shape(doc):
    links = {a.find(f"{SVG}path").get("data-unit"): a for a in doc.iter(f"{SVG}a")}
    assert {u: a.get("href") for u, a in links.items()} == {
        "U1": "./Area_profile?area=E1", "U2": "./Area_profile?area=E2", "U3": "./Area_profile?area=E3",
        "U4": "./Area_profile?area=E4"}
    assert all(a.get("target") == "_self" for a in links.values())
    shared = title_of(links["U2"].find(f"{SVG}path"))
    assert "Beta & <Gamma>, Zeta \"quoted\"" in shared and "2 partnerships" in shared
    assert "open the profile of Beta & <Gamma>" in shared


def test_titles_give_value_interval_and_quality(doc):
    ps = paths(doc)
    t1 = title_of(ps["U1"])
    assert "Alpha" in t1 and f"10.0 {UNIT}" in t1 and "95% interval 8.0 to 12.5" in t1
    assert "quality: official statistics" in t1
    t4 = title_of(ps["U4"])
    assert "33.3" in t4 and "SYNTHETIC" in t4
    assert ps["U1"].get("data-value") == "10" and ps["U4"].get("data-value") == "33.3"


def test_modelled_says_plausible_range():
    v = values().assign(quality="modelled")
    raw = svg_map(map_units(v, UNIT), GEOJSON, title="t", unit=UNIT, period="p")
    assert "plausible range" in raw and "95% interval" not in raw and "MODELLED" in raw
    assert "<a " not in raw  # no links given, none drawn


def test_compact_relative_paths():
    d = path_d(GEOJSON["features"][0]["geometry"], -2.0, 53.0, 0.6)
    assert re.fullmatch(r"M-?\d+ -?\d+l[-\d ]+z", d), d
    assert d == "M0 1000l300 0 0-500-300 0z"  # y grows southwards; closing point implied by z


def test_quantile_groups():
    edges = breaks(range(1, 15), 7)
    assert len(edges) == 8 and edges[0] == 1 and edges[-1] == 14
    assert group_of(1, edges) == 0 and group_of(14, edges) == 6
    assert breaks([5.0, 5.0], 7) == [5.0, 5.0] and group_of(5.0, [5.0, 5.0]) == 0
    assert breaks([], 7) == []
