"""Parser for the Home Office police recorded crime open data tables by CSP (`ho_prc_csp`).

The workbook (.xlsx, later .ods) has one sheet per financial year (`2002-03` ... `2014-15`,
then `2015_16` ...), header on row 1, long format: one row per force, CSP, quarter and offence
code. We keep only weapon possession offences (codes 10A, 10B, 10C, 10D, 81, 90; group
`Possession of weapons offences`) and add them up per CSP and financial quarter / year into the
indicator `prc_possession_weapons`.

Why it is written this way:
* the files are huge (the .ods unpacks to over a gigabyte), so rows are read sheet by sheet
  with calamine and folded straight into running totals; no per-row table is ever built;
* there is no CSP code column: names are joined to codes through the geography lookups with
  the small alias table `data/csp_name_aliases.csv` (renamed districts, word order); an unknown
  name is an error naming the row, so a new alias is added rather than a CSP silently dropped;
* `Unassigned <force>` rows are force residuals that belong to no CSP: they are summed in the
  `prc_force_residuals` table, not spread over CSPs;
* negative counts are publisher adjustments: they stay in the sums and the note says so; only
  the aggregated CSP totals go into observations, and a negative total is an error;
* a financial-year total is produced only when the sheet holds all four quarters, so a
  part-year latest sheet never looks like a full year.
Row numbers in errors are 1-based spreadsheet rows.
Imports: pandas, python_calamine, etl.*. Never streamlit.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from etl.checksums import sha256_file
from etl.errors import SourceError
from etl.geocontext import GeoContext, normalise_area_name
from etl.manifest import PROJECT_ROOT
from etl.periods import Period, financial_quarter, financial_year, parse_period
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations
from etl.suppression import MARKER_REASONS

INDICATOR_ID = "prc_possession_weapons"
WEAPON_CODES = frozenset({"10A", "10B", "10C", "10D", "81", "90"})
WEAPON_GROUP = "possession of weapons offences"
ALIASES_PATH = PROJECT_ROOT / "data" / "csp_name_aliases.csv"
READABLE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")

# our name for a column -> the headers publishers have used for it (compared lower-case)
COLUMNS: dict[str, tuple[str, ...]] = {
    "year": ("financial year",),
    "quarter": ("financial quarter",),
    "force": ("police force", "force name"),
    "csp": ("csp name",),
    "group": ("offence group",),
    "code": ("offence code",),
    "count": ("offence count", "number of offences"),
}
REQUIRED = ("force", "csp", "code", "count")


# --- CSP names ---------------------------------------------------------------------------------

def load_aliases(path: Path = ALIASES_PATH) -> dict[str, list[str]]:
    """Normalised name -> other names for the same CSP. Pairs work both ways, so the table
    holds whether the geography was loaded with the old or the new name."""
    out: dict[str, list[str]] = {}
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            a, b = row["published_name"].strip(), row["lookup_name"].strip()
            out.setdefault(normalise_area_name(a), []).append(b)
            out.setdefault(normalise_area_name(b), []).append(a)
    return out


class CspResolver:
    """CSP name -> code through the geography, then the alias table; cached per name."""

    def __init__(self, geo: GeoContext, aliases: dict[str, list[str]]) -> None:
        self.geo, self.aliases = geo, aliases
        self._cache: dict[str, str | None] = {}

    def __call__(self, name: str) -> str | None:
        if name not in self._cache:
            code = self.geo.area_code_by_name(name, "csp")
            for alt in self.aliases.get(normalise_area_name(name), []) if code is None else []:
                code = self.geo.area_code_by_name(alt, "csp")
                if code:
                    break
            self._cache[name] = code
        return self._cache[name]


# --- reading -----------------------------------------------------------------------------------

def open_workbook(path: Path, source_id: str) -> CalamineWorkbook:
    """calamine reads both .xlsx and .ods; anything else is refused by extension, before
    reading, so a stray file in the folder gets a clear message."""
    if path.suffix.lower() not in READABLE_SUFFIXES:
        raise SourceError(f"unsupported file type {path.suffix!r}: expected one of "
                          f"{', '.join(READABLE_SUFFIXES)}", source_id=source_id, file=path.name)
    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError) as exc:
        raise SourceError(f"cannot open {path.suffix} workbook: {exc}", source_id=source_id,
                          file=path.name) from None


def sheet_year(name: str) -> int | None:
    """Financial-year start for a sheet named `2002-03` or `2015_16`; None for other sheets."""
    text = name.strip().replace("_", "/")
    if not re.fullmatch(r"\d{4}\s*[/-]\s*\d{2,4}", text):
        return None
    try:
        p = parse_period(text)
    except ValueError:
        return None
    return p.start.year if p.kind == "financial_year" else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _number(value: object) -> float | None | str:
    """A count cell -> float; a suppression marker -> its reason (str); else None (bad)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text.replace(",", ""))
    except ValueError:
        reason = MARKER_REASONS.get(text.lower())
        return reason if reason is not None else None


@dataclass
class Total:
    """A running sum for one CSP (or force residual) and period."""

    count: float = 0.0
    negative: float = 0.0
    negative_rows: int = 0
    rows: int = 0
    first_row: int = 0
    suppressed: str | None = None

    def add(self, value: float, row: int) -> None:
        if not self.rows:
            self.first_row = row
        self.rows += 1
        self.count += value
        if value < 0:
            self.negative += value
            self.negative_rows += 1


@dataclass
class SheetResult:
    year: int
    quarters_seen: set[int] = field(default_factory=set)
    has_quarters: bool = True
    rows: int = 0


@dataclass
class Accumulator:
    """Everything folded from the rows: (code, fy, quarter) -> Total; quarter 0 = whole year."""

    csp: dict[tuple[str, int, int], Total] = field(default_factory=dict)
    residual: dict[tuple[str, str, int, int], Total] = field(default_factory=dict)
    sheets: list[SheetResult] = field(default_factory=list)


def _header_map(header: list[str], where: str, source_id: str) -> dict[str, int]:
    lower = [" ".join(h.split()).lower() for h in header]
    found: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for n in names:
            if n in lower:
                found[key] = lower.index(n)
                break
    for key in REQUIRED:
        if key not in found:
            raise SourceError(f"expected column {' or '.join(repr(n) for n in COLUMNS[key])} not "
                              f"found in header row {header}", source_id=source_id, file=where,
                              row=1, column=COLUMNS[key][0].title())
    return found


def read_sheet(wb: CalamineWorkbook, sheet: str, year: int, acc: Accumulator,
               resolve: CspResolver, geo: GeoContext, file: str, source_id: str) -> None:
    """Fold one financial-year sheet into `acc`, one row at a time."""
    where = f"{file} (sheet {sheet!r})"

    def err(message: str, row: int, column: str | None) -> SourceError:
        return SourceError(message, source_id=source_id, file=where, row=row, column=column)

    rows = wb.get_sheet_by_name(sheet).iter_rows()
    first = next(rows, None)
    header = [_text(c) for c in first] if first is not None else []
    if not any(header):
        raise err("header row 1 is empty", 1, None)
    col = _header_map(header, where, source_id)
    head = {k: header[i] for k, i in col.items()}
    width = max(col.values()) + 1
    result = SheetResult(year=year, has_quarters="quarter" in col)
    quarter_of: dict[object, int | None] = {}
    year_ok: dict[str, bool] = {}
    force_pfa: dict[str, str | None] = {}
    csp_in_force: dict[tuple[str, str], bool] = {}

    for n, row in enumerate(rows, start=2):
        if len(row) < width or not any(_text(c) for c in row):
            if any(_text(c) for c in row):
                raise err(f"row has {len(row)} cells, expected at least {width}", n, None)
            continue
        result.rows += 1
        q = 0
        if result.has_quarters:
            raw_q = row[col["quarter"]]
            if raw_q not in quarter_of:
                m = re.fullmatch(r"q?([1-4])", _text(raw_q).lower())
                quarter_of[raw_q] = int(m.group(1)) if m else None
            q = quarter_of[raw_q]
            if q is None:
                raise err(f"not a quarter (1-4): {_text(raw_q)!r}", n, head["quarter"])
            result.quarters_seen.add(q)
        if "year" in col:
            raw_y = _text(row[col["year"]])
            if raw_y not in year_ok:
                try:
                    year_ok[raw_y] = parse_period(raw_y.replace("_", "/")).start.year == year
                except ValueError:
                    year_ok[raw_y] = False
            if not year_ok[raw_y]:
                raise err(f"financial year {raw_y!r} does not match the sheet", n, head["year"])

        code = _text(row[col["code"]]).upper()
        group = _text(row[col["group"]]).lower() if "group" in col else ""
        if code not in WEAPON_CODES:
            if group == WEAPON_GROUP:
                raise err(f"offence code {code!r} is in group 'Possession of weapons offences' "
                          "but not in the weapon code list; update WEAPON_CODES", n, head["code"])
            continue
        if "group" in col and group != WEAPON_GROUP:
            raise err(f"offence code {code} is in group {_text(row[col['group']])!r}, expected "
                      "'Possession of weapons offences'", n, head["group"])

        value = _number(row[col["count"]])
        if value is None:
            raise err(f"not a count: {_text(row[col['count']])!r}", n, head["count"])
        if isinstance(value, float) and not value.is_integer():
            raise err(f"count is not a whole number: {value!r}", n, head["count"])

        force = _text(row[col["force"]])
        if force not in force_pfa:
            force_pfa[force] = geo.pfa_code(force)
        pfa = force_pfa[force]
        csp_name = " ".join(_text(row[col["csp"]]).split())
        if csp_name.lower().startswith("unassigned"):
            if pfa is None:
                raise err(f"unknown force {force!r} for an unassigned row", n, head["force"])
            target, key = acc.residual, (pfa, force, year, q)
        else:
            csp = resolve(csp_name)
            if csp is None:
                raise err(f"unknown CSP name {csp_name!r}: add it to data/csp_name_aliases.csv "
                          "if it is another name for a CSP in the geography lookups", n,
                          head["csp"])
            if pfa is not None and (csp, pfa) not in csp_in_force:
                parents = geo.parents(csp, "pfa")
                csp_in_force[(csp, pfa)] = not parents or pfa in parents
            if pfa is not None and not csp_in_force[(csp, pfa)]:
                raise err(f"CSP {csp_name!r} ({csp}) is not in force {force!r} per the "
                          "geography lookups", n, head["csp"])
            target, key = acc.csp, (csp, year, q)
        total = target.get(key)
        if total is None:
            total = target[key] = Total()
        if isinstance(value, str):
            total.suppressed = value
            total.first_row = total.first_row or n
        else:
            total.add(value, n)
    acc.sheets.append(result)


# --- building the staged tables ------------------------------------------------------------------

def _periods_for(sheet: SheetResult) -> dict[int, Period]:
    """Quarter number (0 = year) -> period, for the periods this sheet can honestly give."""
    out: dict[int, Period] = {}
    if sheet.has_quarters:
        out.update({q: financial_quarter(sheet.year, q) for q in sorted(sheet.quarters_seen)})
    if not sheet.has_quarters or sheet.quarters_seen == {1, 2, 3, 4}:
        out[0] = financial_year(sheet.year)
    return out


def _fold_years(totals: dict[tuple, Total]) -> dict[tuple, Total]:
    """Add whole-year totals (quarter 0) from the quarter totals."""
    out = dict(totals)
    for key, t in totals.items():
        if key[-1] == 0:
            continue
        ykey = (*key[:-1], 0)
        y = out.get(ykey)
        if y is None:
            y = out[ykey] = Total(first_row=t.first_row)
        y.count += t.count
        y.negative += t.negative
        y.negative_rows += t.negative_rows
        y.rows += t.rows
        y.suppressed = y.suppressed or t.suppressed
    return out


def _note(t: Total) -> str | None:
    if not t.negative_rows:
        return None
    return (f"includes {t.negative_rows} negative adjustment row(s) totalling {t.negative:g}, "
            "kept in the sum")


def _observations(acc: Accumulator, file: str, source_id: str, quality: str) -> pd.DataFrame:
    periods = {s.year: _periods_for(s) for s in acc.sheets}
    records = []
    for (csp, year, q), t in _fold_years(acc.csp).items():
        p = periods.get(year, {}).get(q)
        if p is None:
            continue
        count: float | None = t.count
        reason = None
        if t.suppressed:
            count, reason = None, t.suppressed
        elif t.count < 0:
            raise SourceError(
                f"weapon possession total for CSP {csp}, {p.label} is negative ({t.count:g}) "
                "after adding the publisher's adjustments: a count cannot be negative, so the "
                "file or its offence codes need checking", source_id=source_id, file=file,
                row=t.first_row, column=None)
        records.append({"indicator_id": INDICATOR_ID, "area_code": csp,
                        "period_start": pd.Timestamp(p.start), "period_end": pd.Timestamp(p.end),
                        "period_label": p.label, "period_type": p.kind, "count": count,
                        "value": count, "suppressed_reason": reason, "quality": quality,
                        "source_id": source_id, "note": _note(t)})
    df = pd.DataFrame.from_records(records)
    if df.empty:
        raise SourceError("no weapon possession offence rows found", source_id=source_id,
                          file=file)
    return df.sort_values(["area_code", "period_start", "period_end"], ignore_index=True)


def _residuals(acc: Accumulator) -> pd.DataFrame:
    periods = {s.year: _periods_for(s) for s in acc.sheets}
    rows = []
    for (pfa, force, year, q), t in _fold_years(acc.residual).items():
        p = periods.get(year, {}).get(q)
        if p is None:
            continue
        rows.append({"indicator_id": INDICATOR_ID, "pfa_code": pfa, "force_name": force,
                     "period_label": p.label, "period_start": pd.Timestamp(p.start),
                     "period_end": pd.Timestamp(p.end), "period_type": p.kind,
                     "count": None if t.suppressed else t.count,
                     "suppressed_reason": t.suppressed, "note": _note(t)})
    return pd.DataFrame(rows, columns=["indicator_id", "pfa_code", "force_name", "period_label",
                                       "period_start", "period_end", "period_type", "count",
                                       "suppressed_reason", "note"])


def indicators(source_id: str) -> pd.DataFrame:
    """The indicator's metadata: its row of the indicator registry (data/indicators.csv)."""
    return indicator_rows([INDICATOR_ID], source_id=source_id)


def parse_file(path: Path, geo: GeoContext, source_id: str = "ho_prc_csp",
               quality: str = "official", aliases_path: Path = ALIASES_PATH) -> Staged:
    path = Path(path)
    wb = open_workbook(path, source_id)
    resolve = CspResolver(geo, load_aliases(aliases_path))
    acc = Accumulator()
    for sheet in wb.sheet_names:
        year = sheet_year(sheet)
        if year is not None:
            read_sheet(wb, sheet, year, acc, resolve, geo, path.name, source_id)
    if not acc.sheets:
        raise SourceError(f"no financial-year sheets (like '2015_16' or '2002-03') among "
                          f"{wb.sheet_names}", source_id=source_id, file=path.name)
    observations = finish_observations(_observations(acc, path.name, source_id, quality),
                                       source_id=source_id, file=path.name)
    years = sorted(s.year for s in acc.sheets)
    residuals = _residuals(acc)
    return Staged(
        source_id=source_id, observations=observations, indicators=indicators(source_id),
        tables={"prc_force_residuals": residuals},
        files=[{"name": path.name, "sha256": _sha256(path),
                "rows": sum(s.rows for s in acc.sheets),
                "period": f"{financial_year(years[0]).label} to {financial_year(years[-1]).label}"}],
        stats={"rows": sum(s.rows for s in acc.sheets), "sheets": len(acc.sheets),
               "csps": int(observations["area_code"].nunique()),
               "negative_rows": sum(t.negative_rows for t in acc.csp.values())
               + sum(t.negative_rows for t in acc.residual.values()),
               "residual_periods": len(residuals)},
    )


def _sha256(path: Path) -> str:
    return sha256_file(path)


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Parser interface. Releases overlap (each covers many years), so exactly one file is
    expected: with several, which one is current cannot be told from the names alone."""
    if len(paths) != 1:
        raise SourceError(f"expected one file, found {len(paths)}: "
                          f"{', '.join(Path(p).name for p in paths) or 'none'}",
                          source_id=source.id)
    return parse_file(Path(paths[0]), geo, source.id, source.quality)
