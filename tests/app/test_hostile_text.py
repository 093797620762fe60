"""Partner-supplied text is data, never markup: markdown images, links, streamlit badges, blank
lines, backticks and HTML put in every free-text field of every partner template (the local gang
working estimates and the ISTV extract, one file name included) and in `?q=` reach every page
escaped: no element holds them as live markup, and the SVG map keeps one <path> per shape.

The warehouse is built by the real refresh from the code-made fixture mirror plus the hostile
partner files, as a partnership would drop them in (see test_local_estimates.py).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from app.safe_text import html as html_text
from app.safe_text import md
from etl.parsers.gang_working_estimates import COLUMNS as GANG_COLUMNS
from etl.parsers.gang_working_estimates import indicator_id
from etl.parsers.istv import LAYOUT_COLUMNS
from etl.refresh import refresh
from tests.app.page_runner import run_page
from tests.fixture_mirror import build_fixture_mirror

OXFORD = "E22000308"

# Each attack, and the live markup it would make if rendered as markdown: found when a marker
# is not preceded by a backslash (escaping puts one before each special character).
ATTACKS = {
    "image": ("![p](http://host.example/p.png)", ["![p]", "](http://host.example"]),
    "link": ("[official site](http://phish.example/login)", ["[official site]", "](http://phish.example"]),
    "badge": (":blue-badge[FAKE official]", [":blue-badge[FAKE"]),
    "backticks": ("`tick` ```fence", ["`tick`", "```"]),
    "html": ("<img src=x onerror=alert(1)><b>bold</b>", ["<img", "<b>"]),
    "directive": (":red[red] :material/warning: $x^2$", [":red[", ":material/", "$x"]),
}
BLANK = "before-blank\n\nafter-blank"


def payload(tag: str) -> str:
    """Every attack in one value, with a blank line, tagged by the field it is put in."""
    return f"{tag} " + " ".join(text for text, _ in ATTACKS.values()) + f" {BLANK}"


GANG_FIELDS = {"age_band": "gang_members", "notes": "siblings", "supplied_by": "victims_knowing_member"}
ISTV_FIELDS = ["ed_site_name", "assault_location_type", "assault_location_description", "assault_method",
               "assault_method_other"]
GANG_FILE = "gang_working_estimates_`x`[f](http:evil.example)![i](http:evil.example).csv"
ISTV_FILE = "istv_`x`[f](http:evil.example).csv"


def gang_row(**fields: str) -> dict:
    row = {"csp_code": OXFORD, "period_label": "2023/24", "measure": "gang_members", "count": "41",
           "age_band": "10-17", "notes": "", "supplied_by": "Oxford CSP", "supplied_on": "2024-05-01"}
    row.update(fields)
    return row


def istv_row(day: int, **fields: str) -> dict:
    row = {c: "" for c in LAYOUT_COLUMNS}
    row.update({"reporting_period_start": "2023-04-01", "reporting_period_end": "2023-04-30",
                "ed_site_code": "RXX01", "ed_site_name": "Test ED", "csp_code": OXFORD,
                "arrival_datetime": f"2023-04-{day:02d} 22:40", "assault_datetime": f"2023-04-{day:02d} 22:05",
                "assault_location_type": "Street", "assault_method": "Knife", "age_band": "18-24", "sex": "male"})
    row.update(fields)
    return row


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile_wh(mirror, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    src = build_fixture_mirror(mirror, base / "mirror")
    (src / "local").mkdir()
    # One row per hostile field, each a different measure (so each is its own indicator).
    rows = [gang_row(measure=m, **{f: payload(f"gang-{f}")}) for f, m in GANG_FIELDS.items()]
    write_csv(src / "local" / GANG_FILE, GANG_COLUMNS, rows)
    (src / "istv").mkdir()
    write_csv(src / "istv" / ISTV_FILE, LAYOUT_COLUMNS,
              [istv_row(i + 1, **{f: payload(f"istv-{f}")}) for i, f in enumerate(ISTV_FIELDS)]
              + [istv_row(10 + i) for i in range(12)])
    db = base / "wh" / "warehouse.duckdb"
    refresh(src, db, quiet=True)
    return db


@pytest.fixture
def wh(hostile_wh: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVD_DB", str(hostile_wh))
    return hostile_wh


def rendered_text(at: AppTest) -> list[str]:
    """Every string the page hands streamlit's markdown renderer (not the raw-HTML SVG map)."""
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader"):
        out += [e.value for e in getattr(at, kind) if "<svg" not in e.value]
    for m in at.metric:
        out += [m.label, m.proto.help]
    out += [e.label for e in at.expander]
    return out


def live_markup(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        for name, (_, markers) in ATTACKS.items():
            found += [f"{name}: {marker!r} in {text[:120]!r}" for marker in markers
                      if re.search(r"(?<!\\)" + re.escape(marker), text)]
        if "before-blank\n" in text or "\nafter-blank" in text:
            found.append(f"blank line kept in {text[:120]!r}")
    return found


PAGES = [
    ("dashboard.py", {}),
    ("pages/1_Area_profile.py", {"area": OXFORD}),
    ("pages/3_Compare.py", {}),
    ("pages/4_Data_and_sources.py", {}),
    ("pages/5_AE_ISTV.py", {"area": OXFORD, "period": "2023-04..2023-04"}),
]


@pytest.mark.parametrize(("page", "params"), PAGES, ids=[p for p, _ in PAGES])
def test_no_page_renders_partner_text_as_markup(wh, page, params):
    at = run_page(page, **params)
    assert live_markup(rendered_text(at)) == []


def test_profile_shows_each_hostile_field_as_text(wh):
    """Shown, not dropped: the escaped age_band is in the profile's indicator lines."""
    text = "\n".join(rendered_text(run_page("pages/1_Area_profile.py", area=OXFORD)))
    assert md(payload("gang-age_band")) in text
    assert md(GANG_FILE) in text  # the file name on each local figure's source line


def test_data_and_sources_shows_file_names_as_text(wh):
    text = "\n".join(rendered_text(run_page("pages/4_Data_and_sources.py")))
    assert md(GANG_FILE) in text and md(ISTV_FILE) in text


@pytest.mark.parametrize("field", list(GANG_FIELDS))
def test_svg_map_keeps_every_shape_with_hostile_text(wh, field):
    age_band = payload("gang-age_band") if field == "age_band" else "10-17"
    target = indicator_id(GANG_FIELDS[field], age_band)
    at = run_page("pages/2_Map.py", indicator=target, level="csp", period="2023/24")
    svg = next(m.value for m in at.markdown if "<svg" in m.value)
    con = duckdb.connect(str(wh), read_only=True)
    try:
        shapes = con.execute("SELECT count(DISTINCT map_unit) FROM boundaries WHERE area_type = 'csp'").fetchone()[0]
    finally:
        con.close()
    assert len(re.findall(r"<path data-unit=", svg)) == shapes
    assert "\n" not in svg  # one raw-HTML block: no line, let alone a blank one, can end it
    assert "<img" not in svg and "<b>" not in svg
    if field == "age_band":
        assert html_text(payload("gang-age_band"), newlines="&#10;") in svg
    assert live_markup(rendered_text(at)) == []


@pytest.mark.parametrize("name", list(ATTACKS) + ["blank"])
def test_search_text_from_the_url_is_not_markup(wh, name):
    text = BLANK if name == "blank" else f"zz {ATTACKS[name][0]}"
    at = run_page("dashboard.py", q=text)
    infos = [i.value for i in at.info if i.value.startswith("No area matches")]
    assert infos == [f"No area matches '{md(text)}'. Try part of the name, e.g. 'Oxford', or a code such as "
                     "E22000308."]
    assert live_markup(rendered_text(at)) == []
