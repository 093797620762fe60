"""The indicator registry: `data/indicators.csv` (one row per indicator) and
`data/indicator_breaks.csv` (known series breaks per indicator and area), read and checked.

Why a data file: what an indicator *is* (its title, unit words, multiplier, decimals, polarity,
the population it divides by, what it counts, the nations it covers, the comparators it may be
set against) used to be written in each parser's code and re-derived by the app from the unit
text. Written once here, like ONS Explore Local Statistics' `indicators-metadata.csv`, every
parser takes its indicators' metadata from the registry and the refresh carries it into the
warehouse `indicators` table, where pages, charts, sentences and downloads read it.

Rules enforced here:
* the file is checked by a pandera schema at load; an unknown value (a polarity, multiplier,
  nation, comparator, ...) is a `SourceError` naming the file, the row in the file and the column;
* a parser asking for an indicator the registry lacks gets a `SourceError` naming the indicator
  (a new indicator needs a registry row, not a guess);
* a row with `varies_by` (e.g. `age_band` for a partnership's working estimates) is a template:
  the concrete indicator is `<indicator_id>_<slug of the value>` and `{age_band}` in its title,
  short title or definition is filled in by the parser.

May import etl.* and pandas/pandera only (no I/O beyond reading these two files).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from etl.errors import SourceError
from etl.staged import (
    FAMILIES,
    GEOGRAPHY_LEVELS,
    INDICATOR_COLUMNS,
    POLARITIES,
    finish_indicators,
    validate_frame,
)
from methods.benchmark import COMPARATOR_KINDS, NO_COMPARATORS

DATA = Path(__file__).resolve().parents[1] / "data"
REGISTRY_PATH = DATA / "indicators.csv"
BREAKS_PATH = DATA / "indicator_breaks.csv"
REGISTRY_SOURCE = "indicator_registry"

MULTIPLIERS = (1, 100, 10_000, 100_000)  # counts, %, per 10,000, per 100,000
VALUE_TYPES = ("count", "estimate", "crude_rate", "standardised_rate", "percentage")
DENOMINATORS = ("none", "all ages", "all ages (age standardised)", "10-17", "0-17", "0-14",
                "adults in treatment", "children looked after")
NATIONS = ("England", "Wales", "England and Wales", "UK")
COMPARATOR_ROLES = COMPARATOR_KINDS  # national, wales, local, region (methods.benchmark.choose_comparators)
VARIES_BY = ("", "age_band")
AFFECTS = ("", "from", "before")

REGISTRY_COLUMNS = [
    "indicator_id", "source_id", "family", "title", "short_title", "unit", "multiplier",
    "decimals", "value_type", "polarity", "denominator", "measure", "nations", "comparators",
    "geography_level", "is_health_source", "series", "basis", "method", "varies_by",
    "definition", "break_note",
]
BREAK_COLUMNS = ["indicator_id", "area_code", "break_date", "affects", "replaces", "note"]

_TEXT = pa.Check.str_length(min_value=1)


def _comparators_ok(s: pd.Series) -> pd.Series:
    """'none', or kinds of COMPARATOR_ROLES joined by ';', each once ('none' never combined)."""
    def ok(v: str) -> bool:
        parts = v.split(";")
        return v == NO_COMPARATORS or (all(p in COMPARATOR_ROLES for p in parts) and len(set(parts)) == len(parts))
    return s.map(ok)


registry_schema = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9_]+$"), unique=True),
        "source_id": pa.Column(str, _TEXT),
        "family": pa.Column(str, pa.Check.isin(FAMILIES)),
        "title": pa.Column(str, _TEXT),
        "short_title": pa.Column(str, _TEXT),
        "unit": pa.Column(str, _TEXT),
        "multiplier": pa.Column(str, pa.Check.isin([str(m) for m in MULTIPLIERS])),
        "decimals": pa.Column(str, pa.Check.isin(["0", "1", "2", "3"])),
        "value_type": pa.Column(str, pa.Check.isin(VALUE_TYPES)),
        "polarity": pa.Column(str, pa.Check.isin(POLARITIES)),
        "denominator": pa.Column(str, pa.Check.isin(DENOMINATORS)),
        "measure": pa.Column(str, _TEXT),
        "nations": pa.Column(str, pa.Check.isin(NATIONS)),
        "comparators": pa.Column(str, pa.Check(_comparators_ok, element_wise=False,
                                               error=f"'none' or ';'-joined kinds of {COMPARATOR_ROLES}, "
                                                     "each once")),
        "geography_level": pa.Column(str, pa.Check.isin(GEOGRAPHY_LEVELS)),
        "is_health_source": pa.Column(str, pa.Check.isin(["true", "false"])),
        "series": pa.Column(str),
        "basis": pa.Column(str),
        "method": pa.Column(str),
        "varies_by": pa.Column(str, pa.Check.isin(VARIES_BY)),
        "definition": pa.Column(str, _TEXT),
        "break_note": pa.Column(str),
    },
    checks=[
        pa.Check(lambda d: (d["multiplier"] == "1") == d["value_type"].isin(["count", "estimate"]),
                 error="multiplier 1 exactly for counts and estimates"),
        pa.Check(lambda d: (d["multiplier"] != "1") | (d["denominator"] == "none"),
                 error="a count or estimate divides by no population (denominator 'none')"),
    ],
    strict=True,
    ordered=True,
)

breaks_schema = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, _TEXT),
        "area_code": pa.Column(str, pa.Check.str_matches(r"^[EWKSN]\d{8}$")),
        "break_date": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$")),
        "affects": pa.Column(str, pa.Check.isin(AFFECTS)),
        "replaces": pa.Column(str),
        "note": pa.Column(str, _TEXT),
    },
    unique=["indicator_id", "area_code", "break_date"],
    strict=True,
    ordered=True,
)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read: {exc}", source_id=REGISTRY_SOURCE, file=path.name) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SourceError("required column missing", source_id=REGISTRY_SOURCE, file=path.name,
                          column=missing[0])
    extra = [c for c in df.columns if c not in columns]
    if extra:
        raise SourceError(f"unknown column (known: {', '.join(columns)})", source_id=REGISTRY_SOURCE,
                          file=path.name, column=extra[0])
    return df[columns]


@lru_cache(maxsize=8)
def _load_registry(path: str, mtime_ns: int) -> pd.DataFrame:
    p = Path(path)
    df = validate_frame(registry_schema, _read(p, REGISTRY_COLUMNS), source_id=REGISTRY_SOURCE,
                        file=p.name)
    _check_comparators(df, p)
    breaks = load_breaks(p.with_name(BREAKS_PATH.name)) if p.with_name(BREAKS_PATH.name).exists() \
        else pd.DataFrame(columns=BREAK_COLUMNS)
    unknown = breaks[~breaks["indicator_id"].isin(df["indicator_id"])
                     | (breaks["replaces"].ne("") & ~breaks["replaces"].isin(df["indicator_id"]))]
    if len(unknown):
        row = int(unknown.index[0]) + 2
        col = "indicator_id" if unknown["indicator_id"].iloc[0] not in set(df["indicator_id"]) else "replaces"
        raise SourceError(f"break names an indicator not in {p.name}: {unknown[col].iloc[0]!r}",
                          source_id=REGISTRY_SOURCE, file=BREAKS_PATH.name, row=row, column=col)
    return df.set_index("indicator_id", drop=False)


NATIONAL_LEVELS = ("country", "national", "uk")


def _check_comparators(df: pd.DataFrame, path: Path) -> None:
    """Comparators that cannot count like the figure are refused: a count or estimate is never
    set against areas of another size, a national figure has nothing above it ('none' for both),
    and 'wales' needs a publication covering Wales."""
    for i, r in enumerate(df.to_dict("records")):
        kinds = r["comparators"].split(";")
        why = None
        if r["value_type"] in ("count", "estimate") and r["comparators"] != NO_COMPARATORS:
            article = "an" if r["value_type"] == "estimate" else "a"
            why = f"{article} {r['value_type']} is not compared: comparators must be 'none'"
        elif r["geography_level"] in NATIONAL_LEVELS and r["comparators"] != NO_COMPARATORS:
            why = f"a {r['geography_level']} figure has nothing to compare with: comparators must be 'none'"
        elif "wales" in kinds and r["nations"] not in ("Wales", "England and Wales", "UK"):
            why = f"'wales' for a publication covering {r['nations']} only"
        if why:
            raise SourceError(f"{r['indicator_id']}: {r['comparators']!r}: {why}", source_id=REGISTRY_SOURCE,
                              file=path.name, row=i + 2, column="comparators")


def load_registry(path: Path = REGISTRY_PATH) -> pd.DataFrame:
    """The registry, checked, indexed by indicator_id (text columns as text; read once per
    file version)."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise SourceError(f"cannot read: {exc}", source_id=REGISTRY_SOURCE, file=path.name) from None
    return _load_registry(str(path), mtime).copy()


def load_breaks(path: Path = BREAKS_PATH) -> pd.DataFrame:
    """Known series breaks, checked: one row per indicator, area and date."""
    path = Path(path)
    return validate_frame(breaks_schema, _read(path, BREAK_COLUMNS), source_id=REGISTRY_SOURCE,
                          file=path.name)


def slug(text: str) -> str:
    """The id form of a free-text value (e.g. an age band '10-17' -> '10_17')."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _missing(indicator_id: str, source_id: str, path: Path) -> SourceError:
    return SourceError(f"indicator {indicator_id!r} is not in the indicator registry: add a row to "
                       f"data/{path.name}", source_id=source_id, file=path.name, column="indicator_id")


def indicator_rows(ids: list[str], *, source_id: str, family: str | None = None,
                   fill: dict[str, dict[str, str]] | None = None,
                   append: dict[str, str] | None = None,
                   path: Path = REGISTRY_PATH) -> pd.DataFrame:
    """The staged `indicators` frame for `ids`, every column from the registry.

    `fill`: for an indicator made from a template row (`varies_by`), {concrete id: {name: value}}
    (e.g. {'gangs_local_siblings_10_17': {'age_band': '10-17'}}): the template is the registry row
    whose id plus '_' + slug(value) is the concrete id. `append`: text a parser adds to one
    indicator's definition from its file (e.g. which reporting years have rates). `family`: a
    parser whose family comes from the manifest (Fingertips) checks the registry agrees.
    """
    reg = load_registry(path)
    rows = []
    for ind in dict.fromkeys(ids):
        if ind in reg.index and not reg.at[ind, "varies_by"]:
            row = reg.loc[ind].to_dict()
        elif fill and ind in fill:
            row = _from_template(reg, ind, fill[ind], source_id, path)
        else:
            raise _missing(ind, source_id, path)
        if family is not None and row["family"] != family:
            raise SourceError(f"indicator {ind!r} is family {row['family']!r} in the registry but the "
                              f"source is {family!r}", source_id=source_id, file=path.name, column="family")
        if append and append.get(ind):
            row["definition"] = f"{row['definition']} {append[ind]}"
        rows.append(row)
    df = pd.DataFrame(rows, columns=REGISTRY_COLUMNS)
    for col in ("series", "basis", "method", "break_note"):
        df[col] = df[col].where(df[col] != "", None)
    df["is_health_source"] = df["is_health_source"] == "true"
    df["multiplier"] = df["multiplier"].astype("int64")
    df["decimals"] = df["decimals"].astype("int64")
    return finish_indicators(df[[c for c in INDICATOR_COLUMNS]], source_id=source_id)


def _from_template(reg: pd.DataFrame, ind: str, values: dict[str, str], source_id: str,
                   path: Path) -> dict:
    templates = reg[reg["varies_by"] != ""]
    for stem, t in templates.iterrows():
        value = values.get(t["varies_by"])
        if value is not None and ind == f"{stem}_{slug(value)}":
            row = t.to_dict()
            row["indicator_id"] = ind
            for col in ("title", "short_title", "definition"):
                row[col] = row[col].replace("{" + t["varies_by"] + "}", str(value))
            return row
    raise _missing(ind, source_id, path)


def registry_ids_for(indicator_id: str, path: Path = REGISTRY_PATH) -> str | None:
    """The registry row an indicator id comes from: itself, or the template it was made from."""
    reg = load_registry(path)
    if indicator_id in reg.index and not reg.at[indicator_id, "varies_by"]:
        return indicator_id
    for stem in reg.index[reg["varies_by"] != ""]:
        if indicator_id.startswith(stem + "_"):
            return stem
    return None


def breaks_for(ids: list[str] | set[str], path: Path = BREAKS_PATH) -> pd.DataFrame:
    """Registry breaks of these indicators (break_date as a Timestamp; affects/replaces None
    when empty)."""
    load_registry(path.with_name(REGISTRY_PATH.name))  # checks the breaks name known indicators
    b = load_breaks(path)
    b = b[b["indicator_id"].isin(set(ids)) | b["replaces"].isin(set(ids))].copy()
    b["break_date"] = pd.to_datetime(b["break_date"])
    for col in ("affects", "replaces"):
        b[col] = b[col].where(b[col] != "", None)
    return b.reset_index(drop=True)
