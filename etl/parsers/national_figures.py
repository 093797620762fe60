"""Published national figures (national/national_figures.csv) -> national observations.

Why this module exists: most families have no real local file in the mirror, but each has real
national numbers quoted by parliamentary answers, the Commons Library, ONS/OHID releases and the
press. Every row of the file becomes one observation (none is dropped, deduplicated or averaged),
with the page that published it as lineage, so a reader can check each number at its source.

Rules, each enforced here rather than assumed:

* Geography: the `geography` label is mapped by `GEOGRAPHY_CODES`; coverage qualifiers
  ("excl. GMP", "excl. Devon & Cornwall") are part of the *basis*, not the area. Rows published
  for the UK (county lines, NRM) are stored at the UK code (K02000001, `etl.codes`), never
  under England & Wales; the basis label says "UK" too.
* Basis: one indicator per (series, basis). The basis comes from the explicit table
  `data/national_series_map.csv` (series, geography, unit, source_url_contains -> basis,
  basis_label). Rules are tried in file order and the first match wins, so a rule that names a
  publication (`source_url_contains`) must come before the `*` rule for the same unit. A row that
  matches no rule is an error naming the row: a new unit or publication needs a decision, not a
  guess.
* Period: `parse_period` (etl.periods) after `normalise_period_label`, which turns the file's
  labels ("2025 Q3" + "year ending September 2025", "2019 report (CSEW 2017/18 data)", "quarter
  (Jul-Sep 2020)") into labels the one period parser understands. Where the label and
  `period_type` both give a period they must agree.
* Value: must appear among the numbers in the row's quote ("5,069", "27,000", "1.2 million",
  "46%"). The NDTMS rows quote a table row whose cells were run together; their note says
  "concatenated ... (N-digit values)", so the digit run is cut into N-digit cells first. A
  published range ("800-1100") is stored as value = missing, lower_ci/upper_ci = the range ends
  (a publisher's range, not a confidence interval; the note says so), and both ends must be in
  the quote.
* Revisions: rows with the same indicator, area and period are kept, all of them. The latest
  vintage is current: when every row in the group has a date in its `source_title` (e.g.
  "(PQ answered 30 Jan 2020)", "(Guardian, 18 Jul 2019)", "(Feb 2019)") they are ordered by
  that date, otherwise by their order in the file (later row = later vintage). The current row
  keeps source_id `national_figures`; the others get `national_figures#rev1` (the one just
  before current), `#rev2`, ... so the observation key stays unique. Each differing older value
  is one row of the `revisions` table; an older row with the same value is kept but is not a
  revision.
* Metadata: each (series, basis) indicator's title, unit, polarity, definition and breaks are
  rows of the indicator registry (`data/indicators.csv`, `etl.registry`); the known series are
  the registry's `series` of this source. The registry's `basis` must equal the series map's
  `basis_label`, so the two files cannot drift apart.
* Series breaks: `data/indicator_breaks.csv` rows with `replaces` say where one basis replaces
  another (NDQIS knife counting, combined drug+alcohol treatment totals); they become the
  `series_breaks` table.

* Origin: `national_figures_origin.csv` beside the file (matched by the source's mirror glob)
  names, for every row (`row` = data row, header excluded), the producer's original release:
  producer, release title, date, table, URL and how sure that is. Each origin row must repeat
  its figure's series, period and value (else a SourceError naming the origin file, row and
  column), so an origin file can never silently describe a different edition. The producer's
  release is what the pages cite first; the quoting page is "as reported by".
* Corrections: `data/national_figure_corrections.csv` is `national_figures_problems.md` as
  data: per row (checked against series, period and value like the origin), the kind of problem
  (measure, coverage, geography, period, producer, value, comparability, vintage,
  no_official_source), the correction shown with the figure and, where the basis was wrong, the
  basis it belongs to. The quoted value is never changed. A row with no official source gets
  quality `unsourced` and says so.

Extra staged tables: `national_sources` (one row per file row: lineage, vintage, origin and
correction), `revisions`, `series_breaks`. May import etl.* and pandas only.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from etl.checksums import sha256_file
from etl.codes import ENGLAND, ENGLAND_AND_WALES, UNITED_KINGDOM
from etl.csvtable import read_required_columns
from etl.errors import SourceError
from etl.periods import (  # noqa: F401 - vintage_date is part of this parser's interface (tests)
    CALENDAR_YEAR_TYPE,
    CSEW_DATA_PERIOD,
    LEADING_PERIOD,
    QUARTER_TYPE,
    YEAR_ENDING_TYPE,
    Period,
    parse_period,
    vintage_date,
)
from etl.registry import REGISTRY_PATH, breaks_for, indicator_rows, load_registry
from etl.staged import Staged, finish_observations

SOURCE_ID = "national_figures"
SERIES_MAP_PATH = Path(__file__).resolve().parents[2] / "data" / "national_series_map.csv"
CORRECTIONS_PATH = SERIES_MAP_PATH.with_name("national_figure_corrections.csv")
ORIGIN_SUFFIX = "_origin.csv"
ORIGIN_COLUMNS = ["row", "series", "period", "value", "producer", "release_title", "release_date",
                  "table", "release_url", "confidence", "how"]
CORRECTION_COLUMNS = ["row", "series", "period", "value", "kind", "basis", "correction"]
CORRECTION_KINDS = {"measure", "coverage", "geography", "period", "producer", "value",
                    "comparability", "vintage", "no_official_source"}
CONFIDENCE = {"confirmed", "likely", "unknown"}
NO_OFFICIAL_SOURCE = "no_official_source"
COLUMNS = ["series", "geography", "period", "period_type", "value", "unit", "note",
           "source_title", "source_url", "quote"]
MAP_COLUMNS = ["series", "geography", "unit", "source_url_contains", "basis", "basis_label"]

# Publisher geography label -> area code. Coverage qualifiers live in the basis.
GEOGRAPHY_CODES: dict[str, str] = {
    "England": ENGLAND,
    "England and Wales": ENGLAND_AND_WALES,
    "England and Wales (excl. GMP)": ENGLAND_AND_WALES,
    "England and Wales (incl. GMP)": ENGLAND_AND_WALES,
    "England and Wales (excl. Devon & Cornwall)": ENGLAND_AND_WALES,
    "England and Wales (excl. Devon & Cornwall and GMP)": ENGLAND_AND_WALES,
    "UK": UNITED_KINGDOM,
}
UK_NOTE = "Published for the United Kingdom (not England and Wales alone)."

# Point estimates whose label states no data period. Each entry says why.
POINT_ESTIMATE_PERIODS: dict[str, tuple[str, str]] = {
    "2019 report": ("2017/18", (
        "figure from the Children's Commissioner's Keeping kids safe (Feb 2019), whose "
        "estimates use CSEW 2017/18 data (as the file's own '2019 report (CSEW 2017/18 data)' "
        "row states)")),
}




def indicator_id(series: str, basis: str) -> str:
    return f"{series}__{basis}"


# ---------------------------------------------------------------------------------- reading

def read_national_file(path: Path, source_id: str = SOURCE_ID) -> pd.DataFrame:
    """The file as text, one row per figure, with `line` = its line number (header = line 1).

    An unreadable, empty or column-short file is a `SourceError` naming the file and column.
    """
    df = read_required_columns(path, source_id, COLUMNS)
    for col in COLUMNS:
        df[col] = df[col].astype(str).str.strip()
    df["line"] = range(2, len(df) + 2)
    df["file"] = path.name
    return df.reset_index(drop=True)


def load_series_map(path: Path = SERIES_MAP_PATH) -> pd.DataFrame:
    """The basis mapping table, checked: all columns, one label per (series, basis)."""
    try:
        rules = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read series map: {exc}", file=path.name) from None
    for col in MAP_COLUMNS:
        if col not in rules.columns:
            raise SourceError("series map lacks a column", file=path.name, column=col)
    labels = rules.groupby(["series", "basis"])["basis_label"].nunique()
    if (labels > 1).any():
        s, b = labels[labels > 1].index[0]
        raise SourceError(f"basis {b!r} of series {s!r} has more than one basis_label",
                          file=path.name)
    unknown = sorted(set(rules["series"]) - known_series())
    if unknown:
        raise SourceError(f"series map names series with no metadata: {unknown}",
                          file=path.name, column="series")
    return rules


def match_basis(row: pd.Series, rules: pd.DataFrame) -> pd.Series | None:
    """First rule (in table order) matching the row's series, geography, unit and source URL."""
    hit = rules[(rules["series"] == row["series"]) & (rules["geography"] == row["geography"])
                & ((rules["unit"] == row["unit"]) | (rules["unit"] == "*"))]
    for _, rule in hit.iterrows():
        needle = rule["source_url_contains"]
        if needle in ("", "*") or needle.lower() in row["source_url"].lower():
            return rule
    return None


# ---------------------------------------------------------------------------------- periods

def normalise_period_label(period: str, period_type: str) -> tuple[str, str | None]:
    """(label `parse_period` understands, reason when it differs from the file's label).

    `period_type` is preferred when it names a period ("year ending September 2025",
    "calendar year 2024 (...)", "quarter (Jul-Sep 2020)"), because the file's `period` for those
    rows is a shorthand ("2025 Q3") the one parser rightly rejects. Raises ValueError otherwise.
    """
    ptype = period_type.strip()
    if m := YEAR_ENDING_TYPE.match(ptype):
        return f"year ending {m.group(1)} {m.group(2)}", None
    if m := CALENDAR_YEAR_TYPE.match(ptype):
        return m.group(1), None
    if m := QUARTER_TYPE.match(ptype):
        return f"{m.group(1)} {m.group(3)} to {m.group(2)} {m.group(3)}", None
    if ptype.startswith("financial_year") or ptype == "calendar_year":
        return period, None
    if ptype == "point estimate":
        if m := CSEW_DATA_PERIOD.search(period):
            return m.group(1), "data period of the survey the estimate uses (CSEW)"
        if m := LEADING_PERIOD.match(period):
            return m.group(1), "period given before the publisher's qualifier"
        if period in POINT_ESTIMATE_PERIODS:
            label, why = POINT_ESTIMATE_PERIODS[period]
            return label, why
    raise ValueError(f"period {period!r} with period_type {period_type!r} is not handled")


def row_period(period: str, period_type: str) -> tuple[Period, str | None]:
    """Parse one row's period; the file's label and period_type must not contradict."""
    label, why = normalise_period_label(period, period_type)
    parsed = parse_period(label)
    if label != period:
        try:
            own = parse_period(period)
        except ValueError:
            own = None
        if own is not None and (own.start, own.end) != (parsed.start, parsed.end):
            raise ValueError(f"period {period!r} contradicts period_type {period_type!r}")
    return parsed, why


# ----------------------------------------------------------------------------------- values

_RANGE = re.compile(r"^(\d[\d,]*(?:\.\d+)?)\s*-\s*(\d[\d,]*(?:\.\d+)?)$")
_NUMBER = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s*(?:million|m\b|bn|billion))?",
                     re.IGNORECASE)
_CONCAT_WIDTH = re.compile(r"concatenated.*?\((\d+)-digit values\)", re.IGNORECASE)


def parse_value(text: str) -> tuple[float | None, float | None, float | None]:
    """(value, lower, upper): a number, or a published range stored as its two ends."""
    raw = text.replace("\u2013", "-").strip()
    if m := _RANGE.match(raw):
        lo, hi = (float(g.replace(",", "")) for g in m.groups())
        if lo > hi:
            raise ValueError(f"range {text!r} runs backwards")
        return None, lo, hi
    try:
        return float(raw.replace(",", "")), None, None
    except ValueError:
        raise ValueError(f"value {text!r} is not a number or a range") from None


def quote_numbers(quote: str, note: str = "") -> list[float]:
    """Every number written in the quote: '5,069', '27,000', '1.2 million', '46%' -> 46.

    When the note says the quote is a table row with cells run together ("concatenated ...
    (5-digit values)"), long digit runs are also cut into cells of that width.
    """
    found: list[float] = []
    for m in _NUMBER.finditer(quote):
        number = float(m.group(1).replace(",", "") + (f".{m.group(2)}" if m.group(2) else ""))
        scale = (m.group(3) or "").strip().lower()
        if scale in ("million", "m"):
            number *= 1_000_000
        elif scale in ("bn", "billion"):
            number *= 1_000_000_000
        found.append(number)
    if w := _CONCAT_WIDTH.search(note):
        width = int(w.group(1))
        for run in re.findall(r"\d+", quote):
            if len(run) > width and len(run) % width == 0:
                found.extend(float(run[i:i + width]) for i in range(0, len(run), width))
    return found


def value_in_quote(value: float | None, lower: float | None, upper: float | None,
                   quote: str, note: str) -> bool:
    numbers = quote_numbers(quote, note)
    wanted = [v for v in (value, lower, upper) if v is not None]
    return bool(wanted) and all(any(abs(v - n) < 1e-9 for n in numbers) for v in wanted)


# ---------------------------------------------------------------------------------- vintage

def rank_vintages(group: pd.DataFrame) -> pd.Series:
    """1 = current (latest vintage), 2 = the one before, ... for rows sharing a key."""
    dates = group["vintage_date"]
    if dates.notna().all():
        order = group.assign(_d=pd.to_datetime(dates)).sort_values(["_d", "order"]).index
    else:
        order = group.sort_values("order").index
    ranks = pd.Series(range(len(order), 0, -1), index=order)
    return ranks.reindex(group.index)


# ------------------------------------------------------------------------------------ parse

def _fail(msg: str, row: pd.Series, column: str | None, source_id: str) -> SourceError:
    return SourceError(msg, source_id=source_id, file=row["file"], row=int(row["line"]),
                       column=column)


def interpret_rows(df: pd.DataFrame, rules: pd.DataFrame, source_id: str) -> pd.DataFrame:
    """Add area, basis, period, value and vintage to every row; any doubt is a SourceError."""
    out = []
    series = known_series()
    for _, row in df.iterrows():
        if row["series"] not in series:
            raise _fail(f"unknown series {row['series']!r}", row, "series", source_id)
        if row["geography"] not in GEOGRAPHY_CODES:
            raise _fail(f"unmapped geography {row['geography']!r}", row, "geography", source_id)
        rule = match_basis(row, rules)
        if rule is None:
            raise _fail(f"no basis in {SERIES_MAP_PATH.name} for series {row['series']!r}, "
                        f"geography {row['geography']!r}, unit {row['unit']!r}", row, "unit",
                        source_id)
        try:
            period, why = row_period(row["period"], row["period_type"])
        except ValueError as exc:
            raise _fail(str(exc), row, "period", source_id) from None
        try:
            value, lower, upper = parse_value(row["value"])
        except ValueError as exc:
            raise _fail(str(exc), row, "value", source_id) from None
        if not value_in_quote(value, lower, upper, row["quote"], row["note"]):
            raise _fail(f"value {row['value']} is not among the numbers in the quote",
                        row, "quote", source_id)
        notes = [f"Source: {row['source_title']} ({row['source_url']})."]
        if row["geography"] == "UK":
            notes.append(UK_NOTE)
        if lower is not None:
            notes.append(f"Published as a range {row['value']}; lower_ci/upper_ci hold the "
                         "range ends (not a confidence interval).")
        if why:
            notes.append(f"Published period '{row['period']}' read as {period.label}: {why}.")
        if row["note"]:
            notes.append(row["note"])
        out.append({
            **row.to_dict(),
            "indicator_id": indicator_id(row["series"], rule["basis"]),
            "basis": rule["basis"], "basis_label": rule["basis_label"],
            "area_code": GEOGRAPHY_CODES[row["geography"]],
            "period_start": pd.Timestamp(period.start), "period_end": pd.Timestamp(period.end),
            "period_label": period.label, "period_kind": period.kind,
            "num_value": value, "lower": lower, "upper": upper,
            "vintage_date": vintage_date(row["source_title"]),
            "obs_note": " ".join(notes),
        })
    return pd.DataFrame(out)


def assign_vintages(rows: pd.DataFrame, source_id: str) -> pd.DataFrame:
    """Rank rows sharing indicator, area and period; the current one keeps the plain source_id."""
    rows = rows.copy()
    rows["order"] = range(len(rows))
    key = ["indicator_id", "area_code", "period_start", "period_end"]
    rows["vintage_rank"] = 1
    for _, group in rows.groupby(key, sort=False):
        rows.loc[group.index, "vintage_rank"] = rank_vintages(group)
    rows["is_current"] = rows["vintage_rank"] == 1
    rows["obs_source_id"] = [source_id if r == 1 else f"{source_id}#rev{r - 1}"
                             for r in rows["vintage_rank"]]
    return rows


def _same(a: object, b: object) -> bool:
    return (pd.isna(a) and pd.isna(b)) or a == b


def revisions_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per older vintage whose number differs from the current one."""
    key = ["indicator_id", "area_code", "period_start", "period_end"]
    current = rows[rows["is_current"]].set_index(key)
    out = []
    for _, old in rows[~rows["is_current"]].iterrows():
        cur = current.loc[tuple(old[k] for k in key)]
        if all(_same(cur[c], old[c]) for c in ("num_value", "lower", "upper")):
            continue
        out.append({"indicator_id": old["indicator_id"], "area_code": old["area_code"],
                    "period_label": cur["period_label"], "value_current": cur["num_value"],
                    "value_previous": old["num_value"], "source_current": cur["source_title"],
                    "source_previous": old["source_title"]})
    return pd.DataFrame(out, columns=["indicator_id", "area_code", "period_label",
                                      "value_current", "value_previous", "source_current",
                                      "source_previous"])


def known_series() -> set[str]:
    """The series this source may carry: those of its rows in the indicator registry."""
    reg = load_registry()
    return set(reg.loc[reg["source_id"] == SOURCE_ID, "series"])


def series_breaks_table(indicator_ids: set[str]) -> pd.DataFrame:
    """Registry breaks where one basis replaces another, for the indicators present."""
    b = breaks_for(indicator_ids)
    b = b[b["replaces"].notna()]
    return pd.DataFrame({"indicator_id": b["indicator_id"], "area_code": b["area_code"],
                         "break_date": b["break_date"],
                         "description": [f"{new} replaces {old}. {note}" for new, old, note
                                         in zip(b["indicator_id"], b["replaces"], b["note"], strict=True)]},
                        columns=["indicator_id", "area_code", "break_date", "description"]).reset_index(drop=True)


def indicators_table(rows: pd.DataFrame, source_id: str = SOURCE_ID) -> pd.DataFrame:
    """The registry's rows for the indicators present, checked: one area per indicator, and the
    registry's basis is the series map's basis label."""
    firsts = rows.groupby("indicator_id", sort=True).first()
    for ind, group in rows.groupby("indicator_id", sort=True):
        codes = set(group["area_code"])
        if len(codes) != 1:
            raise SourceError(f"indicator {ind} mixes areas {sorted(codes)}", source_id=source_id)
    out = indicator_rows(list(firsts.index), source_id=source_id)
    for ind, basis in zip(out["indicator_id"], out["basis"], strict=True):
        if basis != firsts.at[ind, "basis_label"]:
            raise SourceError(f"indicator {ind}: basis {basis!r} in {REGISTRY_PATH.name} but "
                              f"{firsts.at[ind, 'basis_label']!r} in {SERIES_MAP_PATH.name}",
                              source_id=source_id, file=REGISTRY_PATH.name, column="basis")
    return out


# ------------------------------------------------------------ origin and corrections

def _same_figure(fig: pd.Series, series: str, period: str, value: str) -> str | None:
    """The first of series / period / value that differs from the figure row, or None."""
    if series.strip() != fig["series"]:
        return "series"
    if " ".join(period.split()) != " ".join(str(fig["period"]).split()):
        return "period"
    try:
        same = parse_value(value) == parse_value(fig["value"])
    except ValueError:
        same = False
    return None if same else "value"


def _keyed_rows(path: Path, source_id: str, columns: list[str], figures: pd.DataFrame,
                what: str) -> pd.DataFrame:
    """Rows of an origin or corrections file, each checked against the figure it names.
    `row` is the figures file's data row (header excluded); rows beyond a shorter figures file
    are left out (a test file, an older edition), a row naming a different figure is an error."""
    df = read_required_columns(path, source_id, columns)
    df["line"] = range(2, len(df) + 2)
    by_row = figures.set_index(figures["line"] - 1)
    keep = []
    for _, r in df.iterrows():
        where = {"source_id": source_id, "file": path.name, "row": int(r["line"])}
        if not r["row"].isdigit() or int(r["row"]) < 1:
            raise SourceError(f"row {r['row']!r} is not a data row number", column="row", **where)
        n = int(r["row"])
        if n not in by_row.index:
            continue
        bad = _same_figure(by_row.loc[n], r["series"], r["period"], r["value"])
        if bad:
            raise SourceError(f"{what} for row {n} gives {bad} {r[bad]!r} but row {n} of "
                              f"{by_row.loc[n, 'file']} has {by_row.loc[n, bad]!r}: the two files "
                              "are not the same edition", column=bad, **where)
        keep.append(r)
    out = pd.DataFrame(keep, columns=[*columns, "line"])
    out["row"] = out["row"].astype(int)
    dup = out["row"].duplicated()
    if dup.any():
        r = out[dup].iloc[0]
        raise SourceError(f"row {r['row']} is described twice", source_id=source_id,
                          file=path.name, row=int(r["line"]), column="row")
    return out.set_index("row")


def read_origin(path: Path, figures: pd.DataFrame, source_id: str = SOURCE_ID) -> pd.DataFrame:
    """The producer's release behind each figure row; every figure row must have one."""
    origin = _keyed_rows(path, source_id, ORIGIN_COLUMNS, figures, "origin")
    for n, r in origin.iterrows():
        where = {"source_id": source_id, "file": path.name, "row": int(r["line"])}
        if r["confidence"] not in CONFIDENCE:
            raise SourceError(f"confidence {r['confidence']!r} is not one of {sorted(CONFIDENCE)}",
                              column="confidence", **where)
        if r["release_date"] and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", r["release_date"]):
            raise SourceError(f"release date {r['release_date']!r} is not YYYY, YYYY-MM or "
                              "YYYY-MM-DD", column="release_date", **where)
        if not r["producer"]:
            raise SourceError(f"no producer for row {n}", column="producer", **where)
    missing = sorted(set(figures["line"] - 1) - set(origin.index))
    if missing:
        raise SourceError(f"no origin for figure row(s) {', '.join(map(str, missing[:10]))}",
                          source_id=source_id, file=path.name, column="row")
    return origin


def load_corrections(figures: pd.DataFrame, rules: pd.DataFrame, source_id: str = SOURCE_ID,
                     path: Path = CORRECTIONS_PATH) -> pd.DataFrame:
    """The decision table made from national_figures_problems.md, checked row by row."""
    corr = _keyed_rows(path, source_id, CORRECTION_COLUMNS, figures, "correction")
    known = set(zip(rules["series"], rules["basis"]))
    for _, r in corr.iterrows():
        where = {"source_id": source_id, "file": path.name, "row": int(r["line"])}
        if r["kind"] not in CORRECTION_KINDS:
            raise SourceError(f"kind {r['kind']!r} is not one of {sorted(CORRECTION_KINDS)}",
                              column="kind", **where)
        if r["basis"] and (r["series"], r["basis"]) not in known:
            raise SourceError(f"basis {r['basis']!r} is not a basis of {r['series']} in "
                              f"{SERIES_MAP_PATH.name}", column="basis", **where)
        if not r["correction"]:
            raise SourceError("empty correction", column="correction", **where)
    return corr


def apply_corrections(rows: pd.DataFrame, corr: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Move wrongly based rows to their basis and carry each correction into the note; the
    value stays as quoted. Only rows of the file the table was written for (national_figures.csv)."""
    rows = rows.copy()
    rows["correction_kind"], rows["correction"] = None, None
    labels = rules.groupby(["series", "basis"])["basis_label"].first()
    target = rows["file"] == "national_figures.csv"
    for i in rows.index[target]:
        n = int(rows.at[i, "line"]) - 1
        if n not in corr.index:
            continue
        c = corr.loc[n]
        rows.at[i, "correction_kind"], rows.at[i, "correction"] = c["kind"], c["correction"]
        prefix = ("No official source: " if c["kind"] == NO_OFFICIAL_SOURCE
                  else "Corrected label (national_figures_problems.md): ")
        rows.at[i, "obs_note"] = f"{prefix}{c['correction']}. {rows.at[i, 'obs_note']}"
        if c["basis"]:
            rows.at[i, "basis"] = c["basis"]
            rows.at[i, "basis_label"] = labels[(rows.at[i, "series"], c["basis"])]
            rows.at[i, "indicator_id"] = indicator_id(rows.at[i, "series"], c["basis"])
    return rows


def _file_record(path: Path, rows: pd.DataFrame) -> dict:
    sub = rows[rows["file"] == path.name]
    return {"name": path.name, "sha256": sha256_file(path),
            "rows": len(sub),
            "period": f"{sub['period_start'].min():%Y-%m-%d}.."
                      f"{sub['period_end'].max():%Y-%m-%d}"}


def parse(paths: list[Path], source, geo=None) -> Staged:
    """Every row of the national figures file(s) -> observations, indicators, lineage tables."""
    source_id = getattr(source, "id", SOURCE_ID)
    paths = [Path(p) for p in paths]
    origin_paths = [p for p in paths if p.name.endswith(ORIGIN_SUFFIX)]
    paths = [p for p in paths if not p.name.endswith(ORIGIN_SUFFIX)]
    if not paths:
        raise SourceError("no national figures file found", source_id=source_id)
    raw = pd.concat([read_national_file(p, source_id) for p in paths], ignore_index=True)
    rules = load_series_map()
    rows = interpret_rows(raw, rules, source_id)
    main = raw[raw["file"] == "national_figures.csv"]
    if len(main) and CORRECTIONS_PATH.exists():
        rows = apply_corrections(rows, load_corrections(main, rules, source_id), rules)
    else:
        rows["correction_kind"], rows["correction"] = None, None
    origin_cols = ["producer", "release_title", "release_date", "table", "release_url",
                   "confidence", "how"]
    for col in origin_cols:
        rows[f"origin_{col}"] = None
    for op in origin_paths:
        figures_name = op.name[: -len(ORIGIN_SUFFIX)] + ".csv"
        mine = raw[raw["file"] == figures_name]
        if mine.empty:
            raise SourceError(f"origin file without its figures file {figures_name}",
                              source_id=source_id, file=op.name)
        origin = read_origin(op, mine, source_id)
        hit = rows["file"] == figures_name
        for col in origin_cols:
            rows.loc[hit, f"origin_{col}"] = (rows.loc[hit, "line"] - 1).map(origin[col]).to_numpy()
    rows = assign_vintages(rows, source_id)

    indicators = indicators_table(rows, source_id)
    percent = set(indicators.loc[indicators["multiplier"] == 100, "indicator_id"])
    count = rows["num_value"].where(~rows["indicator_id"].isin(percent))
    obs = pd.DataFrame({
        "indicator_id": rows["indicator_id"], "area_code": rows["area_code"],
        "period_start": rows["period_start"], "period_end": rows["period_end"],
        "period_label": rows["period_label"], "period_type": rows["period_kind"],
        "count": count, "denominator": None, "value": rows["num_value"],
        "lower_ci": rows["lower"], "upper_ci": rows["upper"], "suppressed_reason": None,
        "quality": rows["correction_kind"].map(lambda k: "unsourced" if k == NO_OFFICIAL_SOURCE
                                               else "official"),
        "source_id": rows["obs_source_id"], "note": rows["obs_note"],
    })
    observations = finish_observations(obs, source_id=source_id,
                                       file=", ".join(Path(p).name for p in paths))
    # No row is dropped: one observation per file row, current or not.
    assert len(observations) == len(raw), (len(observations), len(raw))

    revisions = revisions_table(rows)
    breaks = series_breaks_table(set(rows["indicator_id"]))
    sources = pd.DataFrame({
        "indicator_id": rows["indicator_id"], "area_code": rows["area_code"],
        "period_start": rows["period_start"], "period_end": rows["period_end"],
        "value": rows["num_value"], "source_title": rows["source_title"],
        "source_url": rows["source_url"], "quote": rows["quote"],
        "vintage_rank": rows["vintage_rank"].astype(int), "is_current": rows["is_current"],
        "source_id": rows["obs_source_id"], "file_line": rows["line"].astype(int),
        "producer": rows["origin_producer"], "release_title": rows["origin_release_title"],
        "release_date": rows["origin_release_date"], "release_table": rows["origin_table"],
        "release_url": rows["origin_release_url"], "origin_confidence": rows["origin_confidence"],
        "origin_how": rows["origin_how"], "correction_kind": rows["correction_kind"],
        "correction": rows["correction"],
        "no_official_source": rows["correction_kind"] == NO_OFFICIAL_SOURCE,
    })
    for col in ("producer", "release_title", "release_date", "release_table", "release_url",
                "origin_how"):  # an empty cell is "not known", never an empty string
        sources[col] = sources[col].where(sources[col].astype(str).str.strip() != "", None)
    return Staged(
        source_id=source_id, observations=observations, indicators=indicators,
        tables={"national_sources": sources, "revisions": revisions,
                "series_breaks": breaks},
        files=[_file_record(p, rows) for p in paths]
              + [{"name": p.name, "sha256": sha256_file(p),
                  "rows": None, "period": None} for p in origin_paths],
        stats={"rows_in": len(raw), "observations": len(observations),
               "current": int(rows["is_current"].sum()), "revisions": len(revisions),
               "indicators": len(indicators)},
    )
