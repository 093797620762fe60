"""The profile report as a reader gets it: in headless Chromium, open the Area profile of a CSP
(Oxford), a Welsh CSP (Cardiff) and a CSP inside a split unitary authority (Aylesbury Vale),
download the PDF and the HTML report from the page, and check that every PDF page is A4, every
section heading is in it, every number the screen shows for the figures is in it, and that no
element of the report is wider than the A4 content width when printed.

Reuses the streamlit server, the browser and `wait_ready` of tests/browser/test_browser.py. With
SVD_UPDATE_SCREENSHOTS=1 the report's first page is saved as docs/img/report.png for the README.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest

from app.queries import FAMILY_NAMES
from app.report import SECTION_CONTENTS, SECTION_METHODS, SECTION_SOURCES, SECTION_SUMMARY
from tests.browser.test_browser import (  # noqa: F401  (server and browser are fixtures)
    BUILD_WAIT_MS,
    SHOTS,
    WAIT_MS,
    browser,
    open_page,
    readme_image,
    server,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")]
A4_PT = (595, 842)
CONTENT_WIDTH_PX = 688  # A4 210 mm less the report's 14 mm side margins, at 96 px per inch
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")

# What the page shows for each figure: the bold value, its interval or range, a suppressed
# line's count, and each comparison's benchmark value "(289.7; ...)".
SCREEN_FIGURES_JS = """() => {
  const out = [];
  for (const p of document.querySelectorAll("[data-testid='stMarkdownContainer'] p")) {
    const text = p.innerText;
    const strongs = [...p.querySelectorAll('strong')].map(s => s.innerText);
    if (p.firstElementChild && p.firstElementChild.tagName === 'STRONG' && text.includes(' - ')
        && !text.startsWith('National figure')) {
      out.push({kind: 'figure', text, strongs});
    } else if (/^\\s*[\\u25B2\\u25BC\\u25CF\\u25CB]/.test(text) && text.includes(' vs ')) {
      out.push({kind: 'comparison', text, strongs});
    }
  }
  return out;
}"""


def numbers(text: str) -> set[float]:
    return {float(m.rstrip(",").replace(",", "")) for m in NUMBER.findall(text) if m.rstrip(",")}


def screen_numbers(items: list[dict]) -> list[str]:
    found: list[str] = []
    for it in items:
        if it["kind"] == "figure":
            found += [s for s in it["strongs"][1:] if re.fullmatch(r"[\d,]+(?:\.\d+)?", s.strip())]
            found += [n for pair in re.findall(r"(?:95% interval|plausible range) ([\d,.]+) to ([\d,.]+)", it["text"])
                      for n in pair]
            found += re.findall(r"\(count ([\d,]+)\)", it["text"])
        else:
            found += re.findall(r"\(([\d,]+\.\d);", it["text"])
    return found


def download(page, name: str, target_name: str) -> bytes:
    """Click the page's link to the report (a serve.py route that builds it on request) and wait
    for the download itself."""
    link = page.get_by_role("link", name=name)
    link.scroll_into_view_if_needed()
    with page.expect_download(timeout=BUILD_WAIT_MS) as dl:
        link.click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / target_name
    dl.value.save_as(str(target))
    return target.read_bytes()


@pytest.mark.parametrize("code,name", [
    ("E22000308", "Oxford"),           # a CSP of one district (Thames Valley)
    ("W14000015", "Cardiff"),          # a Welsh CSP: Wales as a benchmark, England-only sources absent
    ("E22000303", "Aylesbury Vale"),   # a CSP inside Buckinghamshire, split across four CSPs: no own rates
])
def test_report_pdf_is_a4_with_every_section_and_the_screens_numbers(server, browser, code, name):  # noqa: F811
    page = open_page(browser, f"{server}/Area_profile?area={code}", "Area profile")
    assert page.locator("h2").filter(has_text=name).count() >= 1
    items = page.evaluate(SCREEN_FIGURES_JS)
    shown = screen_numbers(items)
    assert len([i for i in items if i["kind"] == "figure"]) >= 8 and len(shown) >= 10, items

    pdf = pypdf.PdfReader(io.BytesIO(download(page, "Download the profile report (PDF, A4)", f"report_{code}.pdf")))
    assert len(pdf.pages) >= 6  # title and summary, one section per family, methods
    for i, p in enumerate(pdf.pages, start=1):
        w, h = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(w - A4_PT[0]) <= 1 and abs(h - A4_PT[1]) <= 1, (i, w, h)
    pages = [p.extract_text() for p in pdf.pages]
    text = "\n".join(pages)
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    lines = {ln.strip() for ln in text.splitlines()}
    for heading in (SECTION_CONTENTS, SECTION_SUMMARY, *(FAMILY_NAMES[f] for f in
                    ("knife_crime", "ae_assault", "gangs", "drug_treatment")), SECTION_METHODS, SECTION_SOURCES):
        assert heading in lines, heading
    assert f"Serious violence profile: {name}" in text
    in_pdf = numbers(text)
    missing = [n for n in shown if float(n.replace(",", "")) not in in_pdf]
    assert not missing, f"shown on screen, not in the PDF: {missing}"

    html = download(page, "Download the profile report (HTML)", f"report_{code}.html").decode("utf-8")
    assert f"Serious violence profile: {name}" in html and "<script" not in html
    page.close()

    # Printed at A4 width (print media, viewport = the content width): nothing wider than the page.
    report = browser.new_page(viewport={"width": CONTENT_WIDTH_PX, "height": 1000})
    report.emulate_media(media="print")
    report.set_content(html, wait_until="load")
    too_wide = report.evaluate("""(limit) => {
      const bad = [];
      if (document.documentElement.scrollWidth > limit + 1) bad.push('document ' + document.documentElement.scrollWidth);
      for (const e of document.body.querySelectorAll('*')) {
        const r = e.getBoundingClientRect();
        if (r.width > 0 && (r.right > limit + 1 || r.left < -1)) bad.push(e.tagName + ' ' + Math.round(r.right));
        else if (e instanceof HTMLElement && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
          bad.push(e.tagName + ' scroll ' + e.scrollWidth);
      }
      return bad.slice(0, 20);
    }""", CONTENT_WIDTH_PX)
    assert not too_wide, too_wide
    if code == "E22000308":
        # the README's picture of the first page: the report at A4 size with its print margins
        shot = browser.new_page(viewport={"width": 794, "height": 1123})
        shot.emulate_media(media="print")
        shot.set_content(html, wait_until="load")
        shot.add_style_tag(content="body { padding: 15mm 14mm; background: #fff; }")
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / "report.png"
        shot.screenshot(path=str(path), full_page=False)
        readme_image(path, "report.png")
        shot.close()
    report.close()
