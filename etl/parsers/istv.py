"""Parser for ISTV assault-attendance extracts in the project's layout (docs/istv_layout.md).

Information Sharing to Tackle Violence (ISB 1594) obliges type 01 emergency departments to
share a minimum data set about assault attendances with their Community Safety Partnership at
least monthly, but prescribes no file layout or code lists (formats.md). This module defines
the layout a CSP lead drops into `istv/*.csv`, validates it row by row (every problem is a
`SourceError` naming file, row and column), maps raw assault methods to our vocabulary through
an editable table (`data/istv_assault_method_map.csv`), and aggregates to

* observations `istv_assault_attendances` and `istv_knife_sharp_attendances`: count per CSP
  per month and a monthly rate per 100,000 residents;
* the staged table `istv_counts` (csp_code, month, dimension, category, count, quality,
  source_id) behind the A&E page's weapon, time-of-day and day-of-week charts;
* the staged table `istv_data_checks` (source_id, file, check, rows, detail): duplicates
  removed, assault-after-arrival flags, unmapped methods - counted, never silent.

Disclosure control is NOT applied here: counts are exact, and the indicators carry
`is_health_source = True` so that `methods/disclosure.py` suppresses them at display.

Row numbers are file line numbers (header = line 1). Imports: standard library, pandas,
pandera and the shared `etl` contract modules.
"""
from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from etl.codes import AREA_CODE_PATTERNS
from etl.csvtable import check_header
from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.manifest import PROJECT_ROOT
from etl.periods import EARLIEST, future_date, implausible_period
from etl.periods import month as month_period
from etl.registry import indicator_rows
from etl.staged import (
    Staged,
    empty_observations,
    finish_observations,
)
from etl.synthetic.sidecar import SYNTHETIC, quality_for, sha256_of

LAYOUT_COLUMNS = [
    "reporting_period_start", "reporting_period_end", "ed_site_code", "ed_site_name", "csp_code",
    "arrival_datetime", "assault_datetime", "assault_location_type",
    "assault_location_description", "assault_method", "assault_method_other", "age_band", "sex",
]
AGE_BANDS = ("0-9", "10-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
SEXES = ("male", "female", "other", "unknown")
METHOD_CATEGORIES = ("knife_sharp", "blunt_object", "firearm", "body_part", "other", "unknown")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(f"{h:02d}" for h in range(24))
UNKNOWN = "unknown"
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "weapon": METHOD_CATEGORIES,
    "hour": HOURS + (UNKNOWN,),
    "dow": DAYS + (UNKNOWN,),
    "month": ("all",),
    "hour_dow": tuple(f"{d} {h}" for d in DAYS for h in HOURS) + (UNKNOWN,),
}
METHOD_MAP_PATH = PROJECT_ROOT / "data" / "istv_assault_method_map.csv"
ATTENDANCES = "istv_assault_attendances"
KNIFE_SHARP = "istv_knife_sharp_attendances"
COUNT_COLUMNS = ["csp_code", "month", "dimension", "category", "count", "quality", "source_id"]
CHECK_COLUMNS = ["source_id", "file", "check", "rows", "detail"]
# A row with all of these blank is a nil return: "no assault attendances for this CSP in this
# reporting period" - it makes the months count as zero rather than missing.
ATTENDANCE_FIELDS = ["arrival_datetime", "assault_datetime", "assault_location_type",
                     "assault_location_description", "assault_method", "assault_method_other",
                     "age_band", "sex"]

# Reading is streamed: CHUNK_ROWS rows at a time are validated, counted for the data checks and
# reduced to what the de-duplication and the counts need: two 64-bit hashes and four small
# integer codes (CSP, month, hour-and-weekday, weapon), 25 bytes a row instead of ~2.4 KB of
# text, so a multi-million-row extract fits in bounded memory (5M rows: see the README's
# memory bounds). A line longer than MAX_LINE_BYTES cannot be an attendance (a damaged file, or
# not a CSV) and is refused before it is held whole.
CHUNK_ROWS = 50_000
MAX_LINE_BYTES = 1 << 20
UNKNOWN_TIMING = len(DAYS) * len(HOURS)  # hour-and-weekday code of an unknown assault time
_HASH_KEYS = ("istv-dedup-key-1", "istv-dedup-key-2")  # two 64-bit row hashes for de-duplication

_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?"

# The contract for parsed attendance rows, checked after the row-by-row validation below (which
# gives the data officer a precise message); this guards the aggregation against regressions.
attendance_schema = pa.DataFrameSchema(
    {
        "reporting_period_start": pa.Column("datetime64[us]", nullable=False),
        "reporting_period_end": pa.Column("datetime64[us]", nullable=False),
        "ed_site_code": pa.Column(str, pa.Check.str_length(min_value=1)),
        "csp_code": pa.Column(str, pa.Check.str_matches(AREA_CODE_PATTERNS["csp"])),
        "arrival_datetime": pa.Column("datetime64[us]", nullable=False),
        "assault_datetime": pa.Column("datetime64[us]", nullable=True),
        "method_category": pa.Column(str, pa.Check.isin(METHOD_CATEGORIES)),
        "age_band": pa.Column(str, pa.Check.isin(AGE_BANDS)),
        "sex": pa.Column(str, pa.Check.isin(SEXES)),
        "assault_after_arrival": pa.Column(bool),
    },
    checks=[
        pa.Check(lambda d: d["reporting_period_end"] >= d["reporting_period_start"],
                 error="reporting period ends before it starts"),
        pa.Check(lambda d: (d["arrival_datetime"] >= d["reporting_period_start"])
                 & (d["arrival_datetime"] < d["reporting_period_end"] + pd.Timedelta(days=1)),
                 error="arrival outside the reporting period"),
    ],
    strict=False,
)


def parse(paths: list[Path], source, geo: GeoContext, method_map: Path | None = None) -> Staged:
    """Validate every extract, de-duplicate across them and aggregate (see module docstring)."""
    map_path = Path(method_map or source.extra.get("method_map") or METHOD_MAP_PATH)
    mapping = load_method_map(map_path, source.id)
    csp_list = sorted(geo.codes("csp"))
    staged = Staged(source_id=source.id)
    pieces: list[_Reduced] = []
    periods, checks, qualities = [], [], set()
    for path in paths:
        quality = quality_for(path, source.id, source.quality)
        qualities.add(quality)
        reduced, covered, tally = read_extract(path, source.id, csp_list, mapping)
        periods.append(covered)
        checks.extend(tally.checks(source.id, path.name))
        months = sorted(f"{m // 12:04d}-{m % 12 + 1:02d}" for m in np.unique(reduced.month))
        staged.files.append({"name": path.name, "sha256": sha256_of(path), "rows": len(reduced),
                             "period": f"{months[0]} .. {months[-1]}" if months else ""})
        pieces.append(reduced)
    if SYNTHETIC in qualities and len(qualities) > 1:
        raise SourceError("synthetic and real ISTV extracts in one refresh: remove the "
                          "generated files (or the real ones) so counts are not mixed",
                          source_id=source.id, file=", ".join(p.name for p in paths))
    quality = qualities.pop() if qualities else source.quality
    reduced = _Reduced.concat(pieces)
    pieces.clear()
    reduced, removed = _deduplicate(reduced)
    if removed:
        checks.append({"source_id": source.id, "file": "all files", "check": "duplicate_rows_removed",
                       "rows": removed, "detail": "identical rows in every layout column; the "
                       "first copy kept (overlapping extracts)"})
    coverage = _coverage(pd.concat(periods, ignore_index=True) if periods else _empty_rows())
    counts = istv_counts(reduced.tally(csp_list), coverage, quality=quality, source_id=source.id)
    del reduced
    staged.tables["istv_counts"] = counts
    staged.tables["istv_data_checks"] = pd.DataFrame(checks, columns=CHECK_COLUMNS).astype(
        {"rows": "int64"})
    observations = monthly_observations(counts, geo, quality=quality, source_id=source.id)
    # finish_observations rejects an empty frame (pandera dtype check on all-null text
    # columns); a header-only extract legitimately has no observations.
    staged.observations = empty_observations() if observations.empty else finish_observations(
        observations, source_id=source.id, file=", ".join(p.name for p in paths))
    staged.indicators = indicator_definitions(source.family, source.id)
    return staged


def load_method_map(path: Path, source_id: str = "") -> dict[str, str]:
    """raw value (case-folded, trimmed) -> category, from the partnership-editable table."""
    try:
        table = pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceError(f"cannot read the assault method map ({exc})", source_id=source_id,
                          file=str(path)) from None
    for column in ("raw_value", "category"):
        if column not in table.columns:
            raise SourceError(f"missing column {column!r}", source_id=source_id, file=str(path),
                              row=1, column=column)
    mapping: dict[str, str] = {}
    for i, (raw, category) in enumerate(zip(table["raw_value"], table["category"]), start=2):
        key, category = _key(raw), str(category).strip()
        if category not in METHOD_CATEGORIES:
            raise SourceError(f"category {category!r} is not one of {', '.join(METHOD_CATEGORIES)}",
                              source_id=source_id, file=str(path), row=i, column="category")
        if key in mapping and mapping[key] != category:
            raise SourceError(f"raw value {raw!r} is mapped twice, to different categories",
                              source_id=source_id, file=str(path), row=i, column="raw_value")
        mapping[key] = category
    return mapping


def _key(raw: object) -> str:
    return re.sub(r"\s+", " ", str(raw)).strip().casefold()


class _Reduced:
    """Validated attendance rows reduced to what de-duplication and counting need, as parallel
    numpy arrays: `h1`, `h2` (two independent 64-bit hashes of the row's layout columns),
    `csp` (index into the sorted CSP codes), `month` (year * 12 + month - 1 of arrival),
    `timing` (weekday * 24 + hour of the assault, UNKNOWN_TIMING when missing or later than
    arrival) and `weapon` (index into METHOD_CATEGORIES)."""

    FIELDS = {"h1": np.uint64, "h2": np.uint64, "csp": np.int32, "month": np.int32,
              "timing": np.int16, "weapon": np.int8}

    def __init__(self, **arrays: np.ndarray) -> None:
        for name, dtype in self.FIELDS.items():
            setattr(self, name, np.asarray(arrays.get(name, np.empty(0, dtype)), dtype=dtype))

    def __len__(self) -> int:
        return len(self.h1)

    @classmethod
    def concat(cls, pieces: list[_Reduced]) -> _Reduced:
        if len(pieces) == 1:
            return pieces[0]
        return cls(**{name: np.concatenate([getattr(p, name) for p in pieces] or [np.empty(0, dtype)])
                      for name, dtype in cls.FIELDS.items()})

    def keep(self, mask: np.ndarray) -> _Reduced:
        return _Reduced(**{name: getattr(self, name)[mask] for name in self.FIELDS})

    def tally(self, csp_list: list[str]) -> pd.DataFrame:
        """Attendances per (csp_code, month, timing, weapon) cell that has any: a few thousand
        rows however long the extract."""
        if not len(self):
            return pd.DataFrame({"csp_code": pd.Series(dtype=object), "month": pd.Series(dtype="datetime64[us]"),
                                 "timing": pd.Series(dtype="int64"), "weapon": pd.Series(dtype="int64"),
                                 "count": pd.Series(dtype="int64")})
        # One int64 code per row (mixed radix), counted by one sort: no per-column factorising.
        first_month = int(self.month.min())
        months = int(self.month.max()) - first_month + 1
        timings, weapons = UNKNOWN_TIMING + 1, len(METHOD_CATEGORIES)
        code = self.csp.astype(np.int64) * months + (self.month - first_month)
        code = (code * timings + self.timing) * weapons + self.weapon
        cells, count = np.unique(code, return_counts=True)
        del code
        weapon, cells = cells % weapons, cells // weapons
        timing, cells = cells % timings, cells // timings
        month, csp = cells % months + first_month, cells // months
        return pd.DataFrame({
            "csp_code": np.asarray(csp_list, dtype=object)[csp],
            "month": pd.to_datetime(pd.DataFrame({"year": month // 12, "month": month % 12 + 1, "day": 1}))
            .astype("datetime64[us]"),
            "timing": timing, "weapon": weapon, "count": count.astype("int64"),
        })


class _CheckTally:
    """Counts behind the per-file data checks (`istv_data_checks`), added up chunk by chunk."""

    def __init__(self) -> None:
        self.after_arrival = self.time_missing = self.method_blank = self.unmapped = 0
        self.unmapped_values: set[str] = set()

    def add(self, rows: pd.DataFrame) -> None:
        self.after_arrival += int(rows["assault_after_arrival"].sum())
        self.time_missing += int(rows["assault_datetime"].isna().sum())
        self.method_blank += int(rows["method_blank"].sum())
        unmapped = rows.loc[rows["method_unmapped"].to_numpy(dtype=bool), "assault_method"]
        self.unmapped += len(unmapped)
        self.unmapped_values.update(unmapped.astype(str))

    def checks(self, source_id: str, file: str) -> list[dict]:
        """Rows kept but flagged, and values mapped to 'unknown', for the data officer."""
        flagged = {
            "assault_after_arrival": (self.after_arrival, ("assault time later than arrival: kept in "
                                                           "totals, timing counted as unknown")),
            "assault_time_missing": (self.time_missing, "no assault time: timing counted as unknown"),
            "method_blank": (self.method_blank, "no assault method: counted as unknown"),
            "method_unmapped": (self.unmapped, ("raw values not in the method map, counted as "
                                                "unknown: ") + ", ".join(sorted(self.unmapped_values))),
        }
        return [{"source_id": source_id, "file": file, "check": check, "rows": n, "detail": detail}
                for check, (n, detail) in flagged.items() if n]


def read_extract(path: Path, source_id: str, csp_list: list[str],
                 mapping: dict[str, str]) -> tuple[_Reduced, pd.DataFrame, _CheckTally]:
    """One extract as reduced, validated attendance rows (`_Reduced`), the (csp_code, reporting
    period) pairs it reports on, nil returns included, and its data-check counts. Read
    CHUNK_ROWS at a time; only the reduced form of each chunk is kept."""
    csp_index, csp_codes = pd.Index(csp_list), set(csp_list)
    pieces, periods, tally = [], [], _CheckTally()
    for raw in _raw_chunks(path, source_id):
        rows, covered = _validate(raw, path, source_id, csp_codes, mapping)
        tally.add(rows)
        pieces.append(_reduce(rows, csp_index))
        periods.append(covered.drop_duplicates())
        del raw, rows
    return (_Reduced.concat(pieces), pd.concat(periods, ignore_index=True).drop_duplicates(ignore_index=True),
            tally)


def _lines(path: Path, source_id: str) -> Iterator[str]:
    """The file's physical lines as text, each checked for UTF-8 and length as it is read."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed in finally; a generator
    except OSError as exc:
        raise SourceError(f"cannot read ({exc})", source_id=source_id, file=str(path)) from None
    try:
        number = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_LINE_BYTES:
                raise SourceError(f"line longer than {MAX_LINE_BYTES:,} bytes (a damaged file, or "
                                  "not a CSV extract)", source_id=source_id, file=str(path), row=number)
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[len(codecs.BOM_UTF8):]
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(f"not UTF-8 text (byte {exc.start + 1} of the line); save the "
                                  "extract as CSV UTF-8", source_id=source_id, file=str(path),
                                  row=number) from None
    finally:
        fh.close()


def _raw_chunks(path: Path, source_id: str) -> Iterator[pd.DataFrame]:
    """Layout columns as stripped text plus `_row` (file line number), CHUNK_ROWS rows at a
    time; always at least one (possibly empty) chunk. Header and row shape checked here."""
    reader = csv.reader(_lines(path, source_id))
    try:
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise SourceError("empty file", source_id=source_id, file=str(path))
        check_header(header, source_id=source_id, file=str(path))
        for column in LAYOUT_COLUMNS:
            if column not in header:
                raise SourceError(f"missing column {column!r} (docs/istv_layout.md)",
                                  source_id=source_id, file=str(path), row=1, column=column)
        wanted = [header.index(c) for c in LAYOUT_COLUMNS]
        records, lines, sent = [], [], False
        for record in reader:
            if not any(field.strip() for field in record):
                continue
            if len(record) != len(header):
                raise SourceError(f"row has {len(record)} fields, the header has {len(header)} "
                                  "(truncated or damaged row)", source_id=source_id,
                                  file=str(path), row=reader.line_num)
            records.append([record[i].strip() for i in wanted])
            lines.append(reader.line_num)
            if len(records) >= CHUNK_ROWS:
                yield _frame(records, lines)
                records, lines, sent = [], [], True
        if records or not sent:
            yield _frame(records, lines)
    except csv.Error as exc:
        too_long = "field larger than field limit" in str(exc)
        message = (f"a field longer than {csv.field_size_limit():,} characters (an unclosed quote "
                   "or a damaged file)") if too_long else f"malformed CSV ({exc})"
        raise SourceError(message, source_id=source_id, file=str(path),
                          row=reader.line_num + (0 if too_long else 1)) from None


def _frame(records: list[list[str]], lines: list[int]) -> pd.DataFrame:
    raw = pd.DataFrame(records, columns=LAYOUT_COLUMNS, dtype="string") if records \
        else pd.DataFrame({c: pd.Series(dtype="string") for c in LAYOUT_COLUMNS})
    raw["_row"] = pd.Series(lines, dtype="int64")
    return raw


def _reduce(rows: pd.DataFrame, csp_index: pd.Index) -> _Reduced:
    """Validated rows as `_Reduced`: the two hashes of the layout columns stand in for the text
    when de-duplicating (a false match needs both to collide: about 1 in 2**128 per pair)."""
    text = rows[LAYOUT_COLUMNS]
    # Timing is unknown when the assault time is missing or later than arrival.
    usable = rows["assault_datetime"].where(~rows["assault_after_arrival"].astype(bool))
    known = usable.notna().to_numpy()
    timing = np.where(known, usable.dt.day_of_week.fillna(0).to_numpy(dtype="int64") * len(HOURS)
                      + usable.dt.hour.fillna(0).to_numpy(dtype="int64"), UNKNOWN_TIMING)
    month = rows["month"]
    return _Reduced(
        h1=pd.util.hash_pandas_object(text, index=False, hash_key=_HASH_KEYS[0]).to_numpy(),
        h2=pd.util.hash_pandas_object(text, index=False, hash_key=_HASH_KEYS[1]).to_numpy(),
        csp=csp_index.get_indexer(rows["csp_code"].astype(str)),
        month=(month.dt.year * 12 + month.dt.month - 1).to_numpy(dtype="int64"),
        timing=timing,
        weapon=pd.Categorical(rows["method_category"], categories=METHOD_CATEGORIES).codes,
    )


def _fail(raw: pd.DataFrame, mask: pd.Series, column: str, message: str, path: Path,
          source_id: str) -> SourceError:
    first = raw.loc[mask].iloc[0]
    return SourceError(f"{message}: {first[column]!r}", source_id=source_id, file=str(path),
                       row=int(first["_row"]), column=column)


def _parse_times(raw: pd.DataFrame, column: str, pattern: str, fmt_name: str, path: Path,
                 source_id: str, *, required: bool) -> pd.Series:
    text = raw[column].fillna("")
    blank = text == ""
    if required and blank.any():
        raise _fail(raw, blank, column, "value required", path, source_id)
    shaped = text.str.fullmatch(pattern).astype(bool)
    candidate = text.where(shaped & ~blank).str.replace("T", " ", regex=False)
    # The layout fixes the format, so try it exactly first (format="mixed" parses value by value
    # and dominated the parse time); seconds, where present, fall back to the flexible parser.
    exact = "%Y-%m-%d" if pattern == _DATE else "%Y-%m-%d %H:%M"
    parsed = pd.to_datetime(candidate, errors="coerce", format=exact)
    retry = parsed.isna() & candidate.notna()
    if retry.any():
        parsed = parsed.where(~retry, pd.to_datetime(candidate.where(retry), errors="coerce", format="mixed"))
    parsed = parsed.astype("datetime64[us]")
    bad = ~blank & parsed.isna()
    if bad.any():
        raise _fail(raw, bad, column, f"not a {fmt_name}", path, source_id)
    return parsed


def _validate(raw: pd.DataFrame, path: Path, source_id: str, csp_codes: set[str],
              mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Row-by-row checks, each failing with the first offending row and column.

    Returns (attendance rows, reporting periods per CSP). Nil-return rows (period, site and
    CSP filled, every attendance field blank) only contribute their reporting period.
    """
    start = _parse_times(raw, "reporting_period_start", _DATE, "date (YYYY-MM-DD)", path,
                         source_id, required=True)
    end = _parse_times(raw, "reporting_period_end", _DATE, "date (YYYY-MM-DD)", path,
                       source_id, required=True)
    _check_plausible_periods(raw, start, end, path, source_id)
    not_month_start = start.dt.day != 1
    if not_month_start.any():
        raise _fail(raw, not_month_start, "reporting_period_start",
                    "reporting periods must start on the first day of a month", path, source_id)
    not_month_end = (end + pd.Timedelta(days=1)).dt.day != 1
    if not_month_end.any():
        raise _fail(raw, not_month_end, "reporting_period_end",
                    "reporting periods must end on the last day of a month", path, source_id)
    if (end < start).any():
        raise _fail(raw, end < start, "reporting_period_end", "ends before the reporting "
                    "period starts", path, source_id)
    if (raw["ed_site_code"].fillna("") == "").any():
        raise _fail(raw, raw["ed_site_code"].fillna("") == "", "ed_site_code", "value required",
                    path, source_id)
    csp = raw["csp_code"].fillna("")
    malformed = ~csp.str.fullmatch(AREA_CODE_PATTERNS["csp"].strip("^$")).astype(bool)
    if malformed.any():
        raise _fail(raw, malformed, "csp_code", "not a CSP code (E22/W14 + 6 digits)", path,
                    source_id)
    unknown_csp = ~csp.isin(csp_codes)
    if unknown_csp.any():
        raise _fail(raw, unknown_csp, "csp_code", "not a Community Safety Partnership in the "
                    "geography lookup", path, source_id)
    periods = pd.DataFrame({"csp_code": csp.astype(str), "reporting_period_start": start,
                            "reporting_period_end": end})
    nil = (raw[ATTENDANCE_FIELDS].fillna("") == "").all(axis=1)
    raw, start, end = raw.loc[~nil], start.loc[~nil], end.loc[~nil]
    arrival = _parse_times(raw, "arrival_datetime", _DATETIME, "date and time "
                           "(YYYY-MM-DD HH:MM)", path, source_id, required=True)
    assault = _parse_times(raw, "assault_datetime", _DATETIME, "date and time "
                           "(YYYY-MM-DD HH:MM)", path, source_id, required=False)
    now = pd.Timestamp(datetime.now())
    for column, moments in (("arrival_datetime", arrival), ("assault_datetime", assault)):
        future = (moments > now).fillna(False).astype(bool)
        if future.any():
            first = moments[future].iloc[0]
            raise _fail(raw, future, column, future_date(first.date()) or "in the future", path,
                        source_id)
    outside = (arrival < start) | (arrival >= end + pd.Timedelta(days=1))
    if outside.any():
        raise _fail(raw, outside, "arrival_datetime", "arrival outside the row's reporting "
                    "period", path, source_id)
    age = raw["age_band"].fillna("").str.lower()
    if (~age.isin(AGE_BANDS)).any():
        raise _fail(raw, ~age.isin(AGE_BANDS), "age_band",
                    f"age band not one of {', '.join(AGE_BANDS)}", path, source_id)
    sex = raw["sex"].fillna("").str.lower()
    if (~sex.isin(SEXES)).any():
        raise _fail(raw, ~sex.isin(SEXES), "sex", f"sex not one of {', '.join(SEXES)}", path,
                    source_id)
    method_key = raw["assault_method"].fillna("").map(_key)
    category = method_key.map(lambda k: mapping.get(k, UNKNOWN)).astype("string")
    rows = raw.assign(
        reporting_period_start=start, reporting_period_end=end, arrival_datetime=arrival,
        assault_datetime=assault, age_band=age, sex=sex, method_category=category,
        method_blank=method_key == "",
        method_unmapped=(method_key != "") & ~method_key.isin(set(mapping)),
        assault_after_arrival=(assault > arrival).fillna(False).astype(bool),
        month=arrival.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]"),
    )
    try:
        attendance_schema.validate(rows)
    except pa.errors.SchemaError as exc:
        raise SourceError(f"attendance rows failed a check: {str(exc).splitlines()[0]}",
                          source_id=source_id, file=str(path)) from None
    return rows, periods


def _check_plausible_periods(raw: pd.DataFrame, start: pd.Series, end: pd.Series, path: Path,
                             source_id: str) -> None:
    """Reporting periods before ISTV existed (ISB 1594, 2014) or starting after today."""
    earliest, today = pd.Timestamp(EARLIEST["istv"]), pd.Timestamp(date.today())
    for column, moments in (("reporting_period_start", start), ("reporting_period_end", end)):
        bad = (moments < earliest) | (moments > today + pd.offsets.MonthEnd(0))
        if bad.any():
            first = moments[bad].iloc[0]
            message = (implausible_period(first.date(), earliest=EARLIEST["istv"])
                       if column == "reporting_period_start" and first < earliest else
                       f"{first.date().isoformat()} is {'before ISTV began' if first < earliest else 'after the current month'}"
                       f" (possible: {earliest.date().isoformat()} to the end of this month)")
            raise _fail(raw, bad, column, message, path, source_id)


def _deduplicate(rows: _Reduced) -> tuple[_Reduced, int]:
    """Drop exact repeats (all layout columns equal), keeping the first.

    Chosen over failing because monthly extracts are re-sent and overlap; the layout has no
    attendance identifier, so two different attendances identical to the minute in every field
    would also be merged - rare, and counted in `istv_data_checks`.
    """
    if not len(rows):
        return rows, 0
    # First occurrence of each (h1, h2) pair: lexsort is stable, so within a run of equal keys
    # the first position holds the earliest row.
    order = np.lexsort((rows.h2, rows.h1))
    h1, h2 = rows.h1[order], rows.h2[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (h1[1:] != h1[:-1]) | (h2[1:] != h2[:-1])
    del h1, h2
    removed = int(len(order) - starts.sum())
    if removed:
        mask = np.zeros(len(order), dtype=bool)
        mask[order[starts]] = True
        rows = rows.keep(mask)
    return rows, removed


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({"csp_code": pd.Series(dtype="string"),
                         "month": pd.Series(dtype="datetime64[us]"),
                         "reporting_period_start": pd.Series(dtype="datetime64[us]"),
                         "reporting_period_end": pd.Series(dtype="datetime64[us]")})


def _coverage(periods: pd.DataFrame) -> pd.DataFrame:
    """Every (CSP, month) an extract reports on, so a month with no attendances is a zero,
    not a gap. A CSP is covered only for the reporting periods of rows (attendances or nil
    returns) that name it."""
    spans = periods[["csp_code", "reporting_period_start", "reporting_period_end"]].drop_duplicates()
    cells = set()
    for csp, start, end in spans.itertuples(index=False):
        for month in pd.period_range(start, end, freq="M"):
            cells.add((str(csp), month.to_timestamp()))
    cover = pd.DataFrame(sorted(cells), columns=["csp_code", "month"])
    cover["month"] = cover["month"].astype("datetime64[us]")
    return cover


def _by_dimension(tally: pd.DataFrame) -> dict[str, pd.Series]:
    """Each dimension's category for every tally cell (from the timing and weapon codes)."""
    timing = tally["timing"].to_numpy(dtype="int64")
    known = timing != UNKNOWN_TIMING
    labels = {name: np.asarray(DIMENSIONS[name], dtype=object) for name in DIMENSIONS}
    return {
        "weapon": pd.Series(np.asarray(METHOD_CATEGORIES, dtype=object)[tally["weapon"].to_numpy(dtype="int64")],
                            index=tally.index),
        "hour": pd.Series(labels["hour"][np.where(known, timing % len(HOURS), len(HOURS))], index=tally.index),
        "dow": pd.Series(labels["dow"][np.where(known, timing // len(HOURS), len(DAYS))], index=tally.index),
        "month": pd.Series("all", index=tally.index, dtype=object),
        "hour_dow": pd.Series(labels["hour_dow"][timing], index=tally.index),
    }


def istv_counts(tally: pd.DataFrame, coverage: pd.DataFrame, *, quality: str,
                source_id: str) -> pd.DataFrame:
    """Complete grid of counts: every covered (CSP, month) x every category of every dimension,
    zeros included, so a missing cell never stands for zero. `tally` is `_Reduced.tally`."""
    categories_of = _by_dimension(tally)
    pieces = []
    for dimension, categories in DIMENSIONS.items():
        observed = pd.DataFrame({"csp_code": tally["csp_code"].astype(str), "month": tally["month"],
                                 "category": categories_of[dimension], "count": tally["count"]})
        summed = observed.groupby(["csp_code", "month", "category"], sort=False)["count"].sum().reset_index()
        grid = coverage.merge(pd.DataFrame({"category": list(categories)}), how="cross")
        grid = grid.merge(summed, on=["csp_code", "month", "category"], how="left")
        grid["dimension"] = dimension
        pieces.append(grid)
    counts = pd.concat(pieces, ignore_index=True)
    counts["count"] = counts["count"].fillna(0).astype("int64")
    counts["quality"] = quality
    counts["source_id"] = source_id
    counts["month"] = counts["month"].astype("datetime64[us]")
    return counts[COUNT_COLUMNS].sort_values(["csp_code", "month", "dimension", "category"],
                                              ignore_index=True)


def monthly_observations(counts: pd.DataFrame, geo: GeoContext, *, quality: str,
                         source_id: str) -> pd.DataFrame:
    """Count and monthly rate per 100,000 residents for all attendances and knife/sharp ones."""
    total = counts[counts["dimension"] == "month"].set_index(["csp_code", "month"])["count"]
    knife = counts[(counts["dimension"] == "weapon") & (counts["category"] == "knife_sharp")]
    knife = knife.set_index(["csp_code", "month"])["count"]
    records = []
    populations: dict[tuple[str, int], tuple[float | None, int | None]] = {}
    for indicator_id, series in ((ATTENDANCES, total), (KNIFE_SHARP, knife)):
        for (csp, month), n in series.items():
            year = int(month.year)
            if (csp, year) not in populations:
                populations[(csp, year)] = geo.population_for(csp, year)
            persons, used = populations[(csp, year)]
            period = month_period(f"{month:%Y-%m}")
            if persons:
                value = float(n) / persons * 100_000
                note = (f"monthly rate per 100,000 residents (not annualised); population: "
                        f"ONS mid-year {used} estimate for the CSP"
                        + (f", nearest year available to {year}" if used != year else ""))
            else:
                value, note = None, "no population estimate for this CSP: rate not calculated"
            records.append({
                "indicator_id": indicator_id, "area_code": csp,
                "period_start": pd.Timestamp(period.start), "period_end": pd.Timestamp(period.end),
                "period_label": period.label, "period_type": period.kind, "count": float(n),
                "denominator": persons, "value": value, "quality": quality,
                "source_id": source_id, "note": note,
            })
    obs = pd.DataFrame(records, columns=["indicator_id", "area_code", "period_start",
                                         "period_end", "period_label", "period_type", "count",
                                         "denominator", "value", "quality", "source_id", "note"])
    return obs


def indicator_definitions(family: str, source_id: str = "istv_ae_assaults") -> pd.DataFrame:
    """All assault attendances and those with a knife or sharp object: rows of the indicator
    registry (data/indicators.csv), checked to be of the source's family."""
    return indicator_rows([ATTENDANCES, KNIFE_SHARP], source_id=source_id, family=family)
