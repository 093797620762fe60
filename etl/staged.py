"""The staged-table contract every parser returns, and the pandera schemas that guard it.

Each parser (one per publication, in `etl/parsers/`) turns a raw file into the same tidy shape
(a `Staged` bundle), so the build step never needs to know where a number came from beyond the
columns here. Checks that are about one publication's layout live beside its parser; the
checks here are the ones every observation must pass wherever it came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from etl.codes import AREA_CODE_PATTERNS
from etl.errors import SourceError

FAMILIES = ("knife_crime", "ae_assault", "gangs", "drug_treatment", "context")
QUALITIES = ("official", "modelled", "synthetic", "local", "unsourced")
POLARITIES = ("higher_is_worse", "higher_is_better", "none")
GEOGRAPHY_LEVELS = tuple(AREA_CODE_PATTERNS) + ("site",)

ANY_AREA = "|".join(f"(?:{p.strip('^$')})" for k, p in AREA_CODE_PATTERNS.items() if k != "lsoa")

OBSERVATION_COLUMNS = [
    "indicator_id", "area_code", "period_start", "period_end", "period_label", "period_type",
    "count", "denominator", "value", "lower_ci", "upper_ci", "suppressed_reason",
    "quality", "source_id", "note",
]
INDICATOR_COLUMNS = [
    "indicator_id", "family", "title", "unit", "polarity", "definition", "geography_level",
    "method", "is_health_source", "series", "basis", "break_note",
    # from the indicator registry (data/indicators.csv, etl/registry.py)
    "short_title", "multiplier", "decimals", "value_type", "denominator", "measure", "nations",
    "comparators",
]

observation_schema = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, nullable=False),
        "area_code": pa.Column(str, pa.Check.str_matches(f"^(?:{ANY_AREA})$"), nullable=False),
        "period_start": pa.Column("datetime64[us]", nullable=False, coerce=True),
        "period_end": pa.Column("datetime64[us]", nullable=False, coerce=True),
        "period_label": pa.Column(str, nullable=False),
        "period_type": pa.Column(str, nullable=False),
        "count": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "denominator": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "value": pa.Column(float, nullable=True, coerce=True),
        "lower_ci": pa.Column(float, nullable=True, coerce=True),
        "upper_ci": pa.Column(float, nullable=True, coerce=True),
        "suppressed_reason": pa.Column(str, nullable=True),
        "quality": pa.Column(str, pa.Check.isin(QUALITIES), nullable=False),
        "source_id": pa.Column(str, nullable=False),
        "note": pa.Column(str, nullable=True),
    },
    checks=[pa.Check(lambda d: d["period_end"] >= d["period_start"], error="period ends before it starts")],
    unique=["indicator_id", "area_code", "period_start", "period_end", "source_id"],
    strict=True,
    ordered=False,
)

indicator_schema = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, unique=True),
        "family": pa.Column(str, pa.Check.isin(FAMILIES)),
        "title": pa.Column(str),
        "unit": pa.Column(str),
        "polarity": pa.Column(str, pa.Check.isin(POLARITIES)),
        "definition": pa.Column(str),
        "geography_level": pa.Column(str, pa.Check.isin(GEOGRAPHY_LEVELS)),
        "method": pa.Column(str, nullable=True),
        "is_health_source": pa.Column(bool, coerce=True),
        "series": pa.Column(str, nullable=True),
        "basis": pa.Column(str, nullable=True),
        "break_note": pa.Column(str, nullable=True),
        "short_title": pa.Column(str),
        "multiplier": pa.Column("int64", pa.Check.isin([1, 100, 10_000, 100_000])),
        "decimals": pa.Column("int64", pa.Check.in_range(0, 3)),
        "value_type": pa.Column(str),
        "denominator": pa.Column(str),
        "measure": pa.Column(str),
        "nations": pa.Column(str),
        "comparators": pa.Column(str),
    },
    strict=True,
)


@dataclass
class Staged:
    """What one parser hands to the build: observations, the indicators they measure, and any
    extra tidy tables (coverage, unresolved records, ISTV breakdowns) keyed by table name."""

    source_id: str
    observations: pd.DataFrame = field(default_factory=lambda: empty_observations())
    indicators: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INDICATOR_COLUMNS))
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)  # one dict per file read: name, sha256, rows, period
    stats: dict = field(default_factory=dict)  # counts worth reporting in the refresh output


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in OBSERVATION_COLUMNS})


def finish_observations(df: pd.DataFrame, *, source_id: str, file: str = "") -> pd.DataFrame:
    """Fill optional columns, order them, and validate against the shared schema.

    A schema failure becomes a `SourceError` naming the first failing row and column, so the
    data officer sees where the problem is rather than a pandera dump.
    """
    out = df.copy()
    for col in OBSERVATION_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out[OBSERVATION_COLUMNS].reset_index(drop=True)
    for col in ("indicator_id", "area_code", "period_label", "period_type", "quality", "source_id"):
        out[col] = out[col].astype(str)
    for col in ("suppressed_reason", "note"):
        out[col] = out[col].astype("object").where(out[col].notna(), None)
    if out.empty:
        return out  # nothing to check; pandera's dtype checks reject empty object columns
    try:
        return observation_schema.validate(out, lazy=False)
    except pa.errors.SchemaError as exc:
        raise _schema_error(exc, source_id, file) from None


def finish_indicators(df: pd.DataFrame, *, source_id: str) -> pd.DataFrame:
    out = df.copy()
    for col in INDICATOR_COLUMNS:
        if col not in out.columns:
            out[col] = False if col == "is_health_source" else None
    out = out[INDICATOR_COLUMNS].reset_index(drop=True)
    try:
        return indicator_schema.validate(out)
    except pa.errors.SchemaError as exc:
        raise _schema_error(exc, source_id, "indicator definitions") from None


def _schema_error(exc: pa.errors.SchemaError, source_id: str, file: str) -> SourceError:
    row = None
    cases = getattr(exc, "failure_cases", None)
    if isinstance(cases, pd.DataFrame) and "index" in cases and len(cases):
        idx = cases["index"].iloc[0]
        row = int(idx) if pd.notna(idx) else None
    column = getattr(getattr(exc, "schema", None), "name", None)
    check = getattr(exc, "check", None)
    detail = f"failed check {check}" if check is not None else str(exc).splitlines()[0]
    return SourceError(f"staged data {detail}", source_id=source_id, file=file, row=row,
                       column=column if isinstance(column, str) else None)


def validate_frame(schema: pa.DataFrameSchema, df: pd.DataFrame, *, source_id: str, file: str,
                   row_offset: int | None = 2) -> pd.DataFrame:
    """Validate a parser's tidy frame with its pandera schema; a failure becomes a SourceError
    naming the file, the row in the file (index + `row_offset`: 2 for a CSV with one header row)
    and the column, with the offending value. `row_offset=None` for frames whose rows are not
    the file's rows (aggregates, reshaped sheets): the row is then left out rather than wrong."""
    try:
        return schema.validate(df, lazy=False)
    except pa.errors.SchemaError as exc:
        reason = getattr(exc, "reason_code", None)
        cases = exc.failure_cases if isinstance(exc.failure_cases, pd.DataFrame) else None
        if reason is not None and reason.name == "DUPLICATES":
            key = list(schema.unique) if schema.unique else list(df.columns)
            dup = df.duplicated(key)
            i = int(dup.to_numpy().nonzero()[0][0]) if dup.any() else None
            values = ", ".join(str(v) for v in df.loc[df.index[i], key]) if i is not None else ""
            raise SourceError(f"duplicate row for {values} (key: {', '.join(key)})", source_id=source_id,
                              file=file, row=None if i is None or row_offset is None else i + row_offset,
                              column=key[0]) from None
        row, column, value = None, getattr(exc.schema, "name", None), None
        if cases is not None and len(cases):
            first = cases.iloc[0]
            if row_offset is not None and "index" in cases and pd.notna(first["index"]):
                row = int(first["index"]) + row_offset
            if "column" in cases and isinstance(first.get("column"), str):
                column = first["column"]
            value = first.get("failure_case")
        check = exc.check if isinstance(exc.check, str) else getattr(exc.check, "error", None) or str(exc.check)
        detail = f"{value!r} fails {check}" if value is not None else str(exc).splitlines()[0]
        raise SourceError(detail, source_id=source_id, file=file, row=row,
                          column=column if isinstance(column, str) else None) from None
