"""Parser for the OHID Fingertips CSV export (formats.md, "OHID Fingertips CSV export").

One generic parser serves every Fingertips indicator the manifest lists (hospital admissions
for violence, drug treatment), because the export layout is the same for all of them; what
differs per indicator (title, unit, multiplier, polarity, definition) is a row of the indicator
registry (`data/indicators.csv`, `etl.registry`) keyed on our indicator id (Fingertips id, sex,
age, category). An export row whose indicator has no registry row, or whose published name is
not the start of the registry's title (the id-to-name mapping of some indicators is
unconfirmed), is a `SourceError` naming the file, row and column.

Figures stay at the publisher's geography (methods.md): rows for areas we hold (LAD 2021
codes, regions, England) become observations; rows for other, well-formed area codes (upper
tier counties E10, combined authorities, codes newer than our lookup) are skipped and counted
in the staged table `skipped_rows` so nothing disappears silently. A code that is not even a
GSS code is a `SourceError`.

Row numbers in errors are the file's line numbers (the header is line 1).

Imports: standard library, pandas and the shared `etl` contract modules.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from etl.codes import area_type_of
from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.periods import parse_period
from etl.registry import indicator_rows
from etl.staged import (
    Staged,
    empty_observations,
    finish_observations,
)
from etl.suppression import parse_count
from etl.synthetic.sidecar import quality_for, sha256_of

COMPARED_TO_PARENT = "Compared to parent value or percentiles"
"""Our name for the 23rd column, whose published name depends on the parent area type."""
PARENT_COLUMN_POSITION = 22  # 0-based: the 23rd column

EXPORT_COLUMNS = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", COMPARED_TO_PARENT, "Time period Sortable",
    "New data", "Compared to goal", "Time period range",
]
NUMERIC_COLUMNS = ["Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Count", "Denominator"]
KEY_COLUMNS = ["Indicator ID", "Sex", "Age", "Category Type", "Category", "Area Code",
               "Time period"]

# Any GSS code: a country letter and eight digits. Codes of this shape that match no level we
# hold are skipped and counted; anything else is a malformed code.
GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")
DUPLICATE_REASON = "duplicate of an identical row (area listed under more than one parent)"


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Read every Fingertips export for one source into observations, indicators and the
    `skipped_rows` table (source_id, file, reason, rows)."""
    staged = Staged(source_id=source.id)
    observations, indicators, skipped = [], {}, []
    for path in paths:
        rows = read_export(path, source.id)
        quality = quality_for(path, source.id, source.quality)
        obs, inds, skips = _file_observations(rows, path, source, geo, quality)
        observations.append(obs)
        for ind in inds:
            indicators.setdefault(ind["indicator_id"], ind)
        skipped.extend(skips)
        periods = sorted(set(obs["period_label"])) if len(obs) else []
        staged.files.append({"name": path.name, "sha256": sha256_of(path), "rows": len(rows),
                             "period": f"{periods[0]} .. {periods[-1]}" if periods else ""})
    combined = pd.concat(observations, ignore_index=True) if observations else pd.DataFrame()
    if len(combined):
        _check_cross_file_conflicts(combined, source.id)
        combined = combined.drop_duplicates(
            ["indicator_id", "area_code", "period_start", "period_end"], keep="first")
    file_label = ", ".join(p.name for p in paths)
    # An export whose every row is skipped is legitimate (and counted); finish_observations
    # rejects an empty frame, so the empty contract frame is used as is.
    staged.observations = (empty_observations() if combined.empty else
                           finish_observations(combined, source_id=source.id, file=file_label))
    staged.indicators = indicator_rows(list(indicators), source_id=source.id, family=source.family)
    staged.tables["skipped_rows"] = pd.DataFrame(
        skipped, columns=["source_id", "file", "reason", "rows"]).astype({"rows": "int64"})
    return staged


def read_export(path: Path, source_id: str) -> pd.DataFrame:
    """The export as text columns named as in `EXPORT_COLUMNS`, plus `_row` (file line).

    Read with the csv module rather than `pd.read_csv` so that a short (truncated) or long
    row is reported with its line number instead of being padded or shifted.
    """
    raw = path.read_bytes()
    if not raw.strip():
        raise SourceError("empty file", source_id=source_id, file=str(path))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise SourceError(f"not UTF-8 text (byte {exc.start}); the Fingertips export is UTF-8 "
                          "with BOM: re-download it rather than re-saving it from a spreadsheet",
                          source_id=source_id, file=str(path), row=line) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    _check_header(header, path, source_id)
    records, lines = [], []
    for record in reader:
        if not any(field.strip() for field in record):
            continue  # blank line, e.g. at the end of the file
        if len(record) != len(EXPORT_COLUMNS):
            raise SourceError(
                f"row has {len(record)} fields, expected {len(EXPORT_COLUMNS)} (truncated or "
                "damaged row)", source_id=source_id, file=str(path), row=reader.line_num)
        records.append([field.strip() for field in record])
        lines.append(reader.line_num)
    if not records:
        raise SourceError("empty file: header but no data rows", source_id=source_id,
                          file=str(path))
    frame = pd.DataFrame(records, columns=EXPORT_COLUMNS, dtype="string")
    frame["_row"] = lines
    return frame


def _check_header(header: list[str], path: Path, source_id: str) -> None:
    """Name the first missing, renamed or moved column; the 23rd is checked by position only."""
    for position, expected in enumerate(EXPORT_COLUMNS):
        if position == PARENT_COLUMN_POSITION:
            if position >= len(header) or not header[position]:
                raise SourceError(f"missing column {position + 1} ({COMPARED_TO_PARENT!r})",
                                  source_id=source_id, file=str(path), row=1)
            continue
        found = header[position] if position < len(header) else None
        if found == expected:
            continue
        if expected in header:
            message = (f"column {expected!r} is at position {header.index(expected) + 1}, "
                       f"expected {position + 1}")
        elif found is None:
            message = f"missing column {expected!r}"
        else:
            message = f"missing column {expected!r} (found {found!r} in its place)"
        raise SourceError(message, source_id=source_id, file=str(path), row=1, column=expected)
    if len(header) > len(EXPORT_COLUMNS):
        raise SourceError(f"unexpected extra column {header[len(EXPORT_COLUMNS)]!r}",
                          source_id=source_id, file=str(path), row=1,
                          column=header[len(EXPORT_COLUMNS)])


def _fail(rows: pd.DataFrame, mask: pd.Series, message: str, column: str, path: Path,
          source_id: str) -> SourceError:
    first = rows.loc[mask].iloc[0]
    return SourceError(f"{message}: {first[column]!r}", source_id=source_id, file=str(path),
                       row=int(first["_row"]), column=column)


def _file_observations(rows: pd.DataFrame, path: Path, source, geo: GeoContext, quality: str):
    """(observations, indicator rows, skipped-row counts) for one export."""
    sid = source.id
    ids = pd.to_numeric(rows["Indicator ID"], errors="coerce")
    bad_id = ids.isna() | (ids != ids.round())
    if bad_id.any():
        raise _fail(rows, bad_id, "Indicator ID is not an integer", "Indicator ID", path, sid)
    rows = rows.assign(_indicator=ids.astype("int64"))

    numbers = {}
    for column in NUMERIC_COLUMNS:
        values, reason, bad = parse_count(rows[column])
        if bad.any():
            raise _fail(rows, bad, "not a number", column, path, sid)
        numbers[column] = values
        if column == "Value":
            marker_reason = reason
    rows = rows.assign(**{f"_{c}": v for c, v in numbers.items()})

    codes = rows["Area Code"]
    malformed = ~codes.str.fullmatch(GSS_CODE.pattern.strip("^$")).fillna(False).astype(bool)
    if malformed.any():
        raise _fail(rows, malformed, "malformed area code (not a GSS code)", "Area Code", path,
                    sid)
    levels = codes.map(lambda c: area_type_of(str(c)))
    known = set(geo.areas["area_code"])
    held_level = levels.notna() & (levels != "lsoa")
    in_geo = codes.isin(known)
    skip_reason = pd.Series(pd.NA, index=rows.index, dtype="string")
    skip_reason = skip_reason.mask(
        ~held_level, "area type not held: " + rows["Area Type"] + " (" + codes.str[:3] + ")")
    skip_reason = skip_reason.mask(
        held_level & ~in_geo, "area code not in the geography lookup: " + rows["Area Type"])
    # Real exports add England rows per deprivation decile under two category types whose
    # category names coincide: breakdowns, not area figures, so counted and left out.
    category_type = rows["Category Type"].fillna("")
    skip_reason = skip_reason.mask(
        skip_reason.isna() & (category_type != ""), "breakdown, not an area figure: " + category_type)
    skipped = [
        {"source_id": sid, "file": path.name, "reason": str(reason), "rows": int(n)}
        for reason, n in skip_reason.dropna().value_counts().sort_index().items()
    ]
    keep = skip_reason.isna()
    rows = rows.loc[keep].assign(_level=levels[keep], _reason=marker_reason[keep])

    periods = {}
    for label, line in zip(rows["Time period"], rows["_row"]):
        if label not in periods:
            try:
                periods[label] = parse_period(str(label))
            except ValueError as exc:
                raise SourceError(str(exc), source_id=sid, file=str(path), row=int(line),
                                  column="Time period") from None

    rows, removed = _deduplicate(rows, path, sid)
    if removed:
        skipped.append({"source_id": sid, "file": path.name, "reason": DUPLICATE_REASON,
                        "rows": removed})

    known: dict[str, dict] = {}
    ids_out = []
    for key in zip(rows["_indicator"], rows["Indicator Name"], rows["Sex"], rows["Age"],
                   rows["Category Type"], rows["Category"], rows["_row"]):
        indicator_id = indicator_id_for(*(key[0], key[2], key[3], key[5]))
        ids_out.append(indicator_id)
        if indicator_id not in known:
            known[indicator_id] = _indicator_row(indicator_id, *key, path=path, source=source)
    rows = rows.assign(_indicator_id=ids_out)

    value_note = rows["Value note"].fillna("")
    suppressed = rows["_Value"].isna()
    reason = value_note.where(value_note != "", rows["_reason"]).where(suppressed, None)
    range_note = ("time period range " + rows["Time period range"]).where(
        rows["Time period range"].fillna("") != "", "")
    kept_note = value_note.where(~suppressed, "")
    note = (range_note + "; " + kept_note).str.strip("; ")
    obs = pd.DataFrame({
        "indicator_id": rows["_indicator_id"],
        "area_code": rows["Area Code"],
        "period_start": [periods[p].start for p in rows["Time period"]],
        "period_end": [periods[p].end for p in rows["Time period"]],
        "period_label": rows["Time period"],
        "period_type": [periods[p].kind for p in rows["Time period"]],
        "count": rows["_Count"],
        "denominator": rows["_Denominator"],
        "value": rows["_Value"],
        "lower_ci": rows["_Lower CI 95.0 limit"],
        "upper_ci": rows["_Upper CI 95.0 limit"],
        "suppressed_reason": reason,
        "quality": quality,
        "source_id": sid,
        "note": note.where(note != "", None),
    })
    obs["period_start"] = pd.to_datetime(obs["period_start"])
    obs["period_end"] = pd.to_datetime(obs["period_end"])
    return obs, list(known.values()), skipped


def _deduplicate(rows: pd.DataFrame, path: Path, source_id: str) -> tuple[pd.DataFrame, int]:
    """Drop the second listing of an area (same key, same values); two listings with
    different values are an error naming both rows."""
    compare = ["_Value", "_Lower CI 95.0 limit", "_Upper CI 95.0 limit", "_Count",
               "_Denominator", "Value note"]
    key = KEY_COLUMNS
    identical = rows.duplicated(key + compare, keep="first")
    unique = rows.loc[~identical]
    conflict = unique.duplicated(key, keep=False)
    if conflict.any():
        clash = unique.loc[conflict]
        first = clash.iloc[0]
        same = clash[(clash[key] == first[key]).all(axis=1)]
        lines = ", ".join(str(int(r)) for r in same["_row"])
        raise SourceError(
            f"area {first['Area Code']} period {first['Time period']!r} indicator "
            f"{first['Indicator ID']} appears on rows {lines} with different values",
            source_id=source_id, file=str(path), row=int(same["_row"].iloc[1]), column="Value")
    return unique, int(identical.sum())


def _check_cross_file_conflicts(obs: pd.DataFrame, source_id: str) -> None:
    """Two exports of one source may overlap; they must agree where they do."""
    key = ["indicator_id", "area_code", "period_start", "period_end"]
    values = obs[key + ["value", "lower_ci", "upper_ci", "count"]].drop_duplicates()
    clash = values.duplicated(key, keep=False)
    if clash.any():
        first = values.loc[clash].iloc[0]
        raise SourceError(
            f"two files give different values for {first['indicator_id']} "
            f"{first['area_code']} {first['period_start']:%Y-%m-%d}: keep only one edition in "
            "the sources folder", source_id=source_id, column="Value")


def _slug(text: str) -> str:
    text = str(text or "").lower().replace("+", "plus")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def indicator_id_for(fingertips_id: int, sex: str, age: str, category: str) -> str:
    """`fingertips_<id>_<sex>_<age>[_<category>]`: 11201, Persons, All ages ->
    `fingertips_11201_persons_all`; 90244, Persons, 18+ yrs -> `fingertips_90244_persons_18plus`."""
    age_slug = re.sub(r"_(yrs|years)$", "", _slug(age))
    age_slug = "all" if age_slug in ("all_ages", "") else age_slug
    parts = ["fingertips", str(int(fingertips_id)), _slug(sex) or "persons", age_slug]
    if _slug(category):
        parts.append(_slug(category))
    return "_".join(parts)


def _indicator_row(indicator_id: str, fingertips_id: int, name: str, sex: str, age: str,
                   category_type: str, category: str, line: int, *, path: Path, source) -> dict:
    """The registry's row for one indicator of the export, checked against the file's name."""
    try:
        row = indicator_rows([indicator_id], source_id=source.id, family=source.family).iloc[0].to_dict()
    except SourceError as exc:
        raise SourceError(f"{exc.message} (Fingertips indicator {fingertips_id} {name!r}, {sex}, {age}"
                          f"{', ' + category if category else ''})", source_id=source.id,
                          file=str(path), row=int(line), column="Indicator ID") from None
    if not str(row["title"]).lower().startswith(str(name).strip().lower()):
        raise SourceError(f"Fingertips indicator {fingertips_id} is named {name!r} in the file but "
                          f"{row['title']!r} in data/indicators.csv: check the id", source_id=source.id,
                          file=str(path), row=int(line), column="Indicator Name")
    return row
