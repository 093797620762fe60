"""The whole warehouse as one download: a zip of tidy CSVs, observations plus the tables that say
what each indicator and source is, the way statistical producers publish data with its metadata.

Why: one flat CSV repeated each indicator's definition and method and each source's title, URL and
licence on every row: 177 MB for 108,000 observations, two thirds of it the same few hundred
texts. Here every observation keeps its lineage keys and the short words a reader needs in the
row itself (what the number is, indicator title and unit, area, period, quality, publisher,
source id), and the long texts stand once in `indicators.csv` and `sources.csv`, joined on
`indicator_id` and `source_id` (a superseded vintage's `source_id` carries `#...` after the id
of its source). `source_files.csv` names every file read, with its SHA-256. Observations go
through the same disclosure rules as every download (app.disclosure_view); every CSV is
formula-neutralised and has CRLF line ends.
Imports: io, zipfile, pandas, app.queries, app.disclosure_view, methods.disclosure, methods.wording.
"""
from __future__ import annotations

import io
import zipfile

import pandas as pd

from app import queries as q
from app.disclosure_view import for_download
from methods.disclosure import neutralise_csv_formulas
from methods.wording import quality_wording

PACKAGE_FILE = "serious_violence_observations.zip"
# Per-indicator and per-source texts: written once in their own table, not on every observation.
INDICATOR_TEXTS = ("definition", "method", "basis")
SOURCE_TEXTS = ("source_title", "source_url", "licence")

README = """Serious violence dashboard: every observation in the warehouse
==============================================================

Files (UTF-8 CSV, one header row, lines ending CRLF):
- observations.csv: one row per figure. what_this_is says in words what the number is.
  Lineage: indicator_id -> indicators.csv, source_id -> sources.csv (a superseded vintage's
  source_id is the source's id followed by '#' and the vintage; is_current is false for it),
  quality (official / modelled / local / synthetic), publisher, period.
  Health counts of 1-7 are suppressed as on the dashboard (suppressed_reason says why).
  Figures with quality = synthetic are generated stand-ins: {synthetic}
- indicators.csv: one row per indicator: title, unit, definition, method, basis, polarity,
  multiplier (a rate is per this many of the denominator), decimals, comparators.
- sources.csv: one row per source: publisher, title, official URL, licence, attribution,
  the file read, its SHA-256, when it was retrieved, and the quality of its figures.
- source_files.csv: every file read for each source, with its SHA-256, row count and any notes
  its publisher put on the whole table.

Warehouse: refresh {refresh_id}, built {built_at}.
Published data are Crown copyright or the publisher's, under the Open Government Licence v3.0
unless sources.csv says otherwise; attribute each figure to its publisher as sources.csv gives.
"""


def _csv(df: pd.DataFrame) -> bytes:
    return neutralise_csv_formulas(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def observations_table(all_observations: pd.DataFrame) -> pd.DataFrame:
    """The observations as downloaded, without the texts that stand once in the other tables."""
    out = for_download(all_observations)
    return out.drop(columns=[c for c in (*INDICATOR_TEXTS, *SOURCE_TEXTS) if c in out])


def package(all_observations: pd.DataFrame, indicators: pd.DataFrame, sources: pd.DataFrame,
            source_files: pd.DataFrame, meta: dict[str, str]) -> bytes:
    """The zip's bytes, from the warehouse's tables (given, so a test can build one from its own)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        readme = README.format(refresh_id=meta.get("refresh_id", "unknown"), built_at=meta.get("built_at", "unknown"),
                               synthetic=quality_wording("synthetic", "sentence"))
        zf.writestr("README.txt", readme.replace("\n", "\r\n"))
        zf.writestr("observations.csv", _csv(observations_table(all_observations)))
        zf.writestr("indicators.csv", _csv(indicators))
        zf.writestr("sources.csv", _csv(sources))
        zf.writestr("source_files.csv", _csv(source_files))
    return buf.getvalue()


def warehouse_package() -> bytes:
    """The zip for the live warehouse."""
    return package(q.all_observations(), q.indicators(), q.sources(), q.source_files(), q.meta())
