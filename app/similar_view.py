"""The most similar partnerships as a reader sees them: the characteristics each pair was
compared on by their names ("Share of residents aged 10-24"), not their codes (`share_10_24`).

Why: the codes are for the method and for a spreadsheet; the names are already held with the
group, in the warehouse's `similar_area_characteristics.label` (written at refresh from the
method's own definitions, methods.similar), so the page reads them from there rather than
keeping its own list. The CSV keeps the codes beside the names.
Imports: pandas only (pure; the page passes the query results in).
"""
from __future__ import annotations

import pandas as pd

SCREEN_COLUMNS = ["rank", "neighbour_name", "neighbour_code", "distance", "compared_on"]


def characteristic_labels(chars: pd.DataFrame) -> dict[str, str]:
    """characteristic code -> its label, from `app.queries.similar_characteristics` rows."""
    if chars.empty or not {"characteristic", "label"} <= set(chars.columns):
        return {}
    known = chars.dropna(subset=["label"]).drop_duplicates("characteristic")
    return dict(zip(known["characteristic"], known["label"], strict=True))


def compared_on(codes: object, labels: dict[str, str]) -> str:
    """'population,share_10_24' -> 'Population (all ages); Share of residents aged 10-24' (a code
    without a label stays as it is: nothing is dropped). Semicolons, as labels hold commas."""
    parts = [c.strip() for c in str(codes or "").split(",") if c.strip()]
    return "; ".join(labels.get(c, c) for c in parts)


def source_words(ids: object, sources: pd.DataFrame) -> str:
    """'ons_mye_2021,police_uk_street' -> 'Office for National Statistics: Estimates of the
    population ...; Home Office / data.police.uk: Police recorded crime ...', from the warehouse's
    `sources` table (`app.queries.sources`): what a reader can look up, not the warehouse's ids. An
    id the table does not hold stays as it is."""
    known = {} if sources.empty else {str(r["source_id"]): f"{r['publisher']}: {r['title']}"
                                      for r in sources.to_dict("records")}
    parts = dict.fromkeys(p.strip() for p in str(ids or "").split(",") if p.strip())
    return "; ".join(known.get(p, p) for p in parts)


def similar_table(group: pd.DataFrame, chars: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the table shown, the table downloaded) for a CSP's group (`app.queries.similar_partnerships`):
    both with `compared_on` in words; the download also keeps `characteristics_used` (the codes)."""
    labels = characteristic_labels(chars)
    named = group.assign(compared_on=[compared_on(v, labels) for v in group["characteristics_used"]])
    return named[SCREEN_COLUMNS], named
