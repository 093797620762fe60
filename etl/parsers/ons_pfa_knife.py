"""Parser for the knife table of the ONS "Police Force Area data tables" (`ons_pfa_knife_table`).

ONS publishes one workbook per quarterly edition; the knife table (likely `Table P6`) gives
police recorded offences involving a knife or sharp instrument by force area, for rolling
years such as `Apr 2010 to Mar 2011`. Its layout is only "likely" (not seen here), so this
parser finds things by content and fails loudly, naming the file and sheet, when it cannot:

* the sheet: the `Table P<n>` sheet whose title rows mention a knife (names may carry trailing
  spaces), else `Table P6`;
* the header: the first row whose first cell is `Area Code`;
* the columns: `Area Code`, `Area Name` and one count column per period label; columns that
  are not a bare period label (percentages, % change, rates) are skipped, which is how the
  alternating count / percentage layout is handled.

Series breaks: the registry's breaks for this indicator (`data/indicator_breaks.csv`) come back
in the `series_breaks` table. ONS moved the whole knife collection to the NDQIS counting method
(most forces from the year ending March 2021), so a break the registry records for England and
Wales without `affects` (a change of method, not one force's recording problem) is a break in
every area of the table: each force's, region's and country's trend stops at it, while areas in
the same period, all counted alike, are still compared. A break recorded for one area stays that
area's, with its `affects`.

`[note N]` markers and line breaks are stripped from headers and names, but not lost: ONS puts
its caveats there (a force that could not supply data, a change of recording system), so the
notes on a force's row (its name or code) and on a period's column are carried into each figure's
`note` as "ONS note N: <text>", the text read from the workbook's `Notes` sheet (header row
starting `Note number`; the note's text is the next non-empty cell). A marker whose note the
sheet does not hold is carried as "ONS note N (text not in the workbook's Notes sheet)", never
dropped. Markers on the title rows or on the code or name column's header describe the whole
table, not a figure: they are not repeated on every row but kept once, on the file's lineage row
(`source_files.publisher_notes`, shown on Data & sources and in the download). Suppression markers
become a missing count plus a reason (etl.suppression). Rows whose code is not a force area,
region, country or England & Wales code (e.g. a non-territorial force) are kept out of the
observations and listed in the `ons_knife_unmatched_rows` table instead.
Row numbers in errors are 1-based spreadsheet rows.
Imports: pandas, python_calamine, etl.*. Never streamlit.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook

from etl.checksums import sha256_file
from etl.codes import area_type_of
from etl.errors import SourceError
from etl.geocontext import GeoContext
from etl.parsers.knife_pfa_quarterly import PopulationLookup, add_rates, mid_year_for
from etl.periods import Period, parse_period
from etl.registry import breaks_for, indicator_rows
from etl.staged import Staged, finish_observations
from etl.suppression import parse_count

INDICATOR_ID = "knife_offences_ons_rolling_year"
KEPT_LEVELS = ("pfa", "region", "country", "national")
FALLBACK_SHEET = "table p6"
SKIP_WORDS = re.compile(r"%|percent|change|rate|per 1,?000|proportion", re.IGNORECASE)


def clean(text: object) -> str:
    """Strip `[note N]` markers, line breaks and repeated spaces from a header or name."""
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    out = re.sub(r"\[\s*note\s*[\w ,]*\]", " ", str(text), flags=re.IGNORECASE)
    return " ".join(out.split())


NOTE_MARKER = re.compile(r"\[\s*notes?\s*([\w ,]*)\]", re.IGNORECASE)


def note_numbers(text: object) -> list[str]:
    """The note numbers a cell refers to, in order: 'Thames Valley [note 5] [note 2, 7]' ->
    ['5', '2', '7']."""
    if not isinstance(text, str):
        return []
    found = [n for inside in NOTE_MARKER.findall(text) for n in re.findall(r"\d+", inside)]
    return list(dict.fromkeys(found))


def read_notes(wb: CalamineWorkbook) -> dict[str, str]:
    """Note number -> text from the workbook's `Notes` sheet (empty when it has none): rows below
    the header whose first cell is 'Note number'; the number is the digits of the first cell
    ('1' or 'Note 1'), the text the next non-empty cell."""
    names = [n for n in wb.sheet_names if n.strip().lower() == "notes"]
    if not names:
        return {}
    notes: dict[str, str] = {}
    in_table = False
    for row in wb.get_sheet_by_name(names[0]).iter_rows():
        cells = [_cell_text(c) for c in row]
        first = cells[0] if cells else ""
        if not in_table:
            in_table = first.lower().startswith("note number")
            continue
        number = re.findall(r"\d+", first)
        text = next((c for c in cells[1:] if c), "")
        if number and text:
            notes.setdefault(number[0], " ".join(text.split()))
    return notes


def notes_text(numbers: list[str], notes: dict[str, str]) -> str | None:
    """'ONS note 5: <text>; ONS note 3: <text>' for the numbers given, or None."""
    parts = [f"ONS note {n}: {notes[n]}" if n in notes else f"ONS note {n} (text not in the workbook's Notes sheet)"
             for n in dict.fromkeys(numbers)]
    return "; ".join(parts) or None


def _cell_text(value: object) -> str:
    """A cell as the text a reader would see (numbers without a spurious `.0`)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def find_knife_sheet(wb: CalamineWorkbook, file: str, source_id: str) -> str:
    """The knife table's sheet name as stored (trailing spaces and all)."""
    tables = [n for n in wb.sheet_names if re.fullmatch(r"table\s*p\d+[a-z]?", n.strip().lower())]
    mentions = []
    for name in tables:
        rows = wb.get_sheet_by_name(name).iter_rows()
        head = []
        for _, row in zip(range(6), rows):
            head.extend(clean(c).lower() for c in row if isinstance(c, str))
        if any("knife" in h for h in head):
            mentions.append(name)
    if len(mentions) == 1:
        return mentions[0]
    fallback = [n for n in (mentions or tables) if n.strip().lower() == FALLBACK_SHEET]
    if fallback:
        return fallback[0]
    raise SourceError(
        f"no single knife table found (sheets {wb.sheet_names}; sheets mentioning a knife: "
        f"{mentions or 'none'})", source_id=source_id, file=file)


def _period_of(header: str) -> Period | None:
    """A count column's period, or None for anything else (percentages, blanks, notes)."""
    if not header or SKIP_WORDS.search(header):
        return None
    try:
        return parse_period(header)
    except ValueError:
        return None


def read_table(path: Path, source_id: str = "ons_pfa_knife_table"
               ) -> tuple[pd.DataFrame, pd.DataFrame, str, str | None]:
    """(long counts, unmatched rows, sheet name, the whole table's notes) from the workbook's
    knife table."""
    file = path.name
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError) as exc:
        raise SourceError(f"cannot open workbook: {exc}", source_id=source_id, file=file) from None
    sheet = find_knife_sheet(wb, file, source_id)
    where = f"{file} (sheet {sheet.strip()!r})"

    def err(message: str, row: int | None = None, column: str | None = None) -> SourceError:
        return SourceError(message, source_id=source_id, file=where, row=row, column=column)

    rows = wb.get_sheet_by_name(sheet).iter_rows()
    header: list[str] | None = None
    header_row = 0
    table_notes: list[str] = []  # markers on the title rows, then on the code and name headers
    for n, row in enumerate(rows, start=1):
        if row and clean(row[0]).lower() == "area code":
            header, header_row = [clean(c) for c in row], n
            column_notes = [note_numbers(c) for c in row]
            break
        table_notes += [m for c in row for m in note_numbers(_cell_text(c))]
    if header is None:
        raise err("header row not found: no row whose first cell is 'Area Code'")
    lower = [h.lower() for h in header]
    if "area name" not in lower:
        raise err(f"expected column 'Area Name' not found in header {header}", header_row,
                  "Area Name")
    name_col = lower.index("area name")
    table_notes += column_notes[0] + column_notes[name_col]
    periods: dict[int, Period] = {}
    for i, h in enumerate(header):
        p = _period_of(h)
        if p is None:
            continue
        if p.kind not in ("year_ending", "financial_year"):
            raise err(f"period column {h!r} is not a 12-month period", header_row, h)
        if any(q.start == p.start and q.end == p.end for q in periods.values()):
            raise err(f"period {h!r} appears twice among the count columns", header_row, h)
        periods[i] = p
    if not periods:
        raise err(f"no period columns (like 'Apr 2010 to Mar 2011') in header {header}",
                  header_row)

    notes = read_notes(wb)
    whole_table = notes_text(table_notes, notes)
    records, unmatched = [], []
    for n, row in enumerate(rows, start=header_row + 1):
        cells = [_cell_text(c) for c in row]
        row_notes = note_numbers(cells[0] if cells else "") + note_numbers(
            cells[name_col] if len(cells) > name_col else "")
        code = clean(cells[0]) if cells else ""
        name = clean(cells[name_col]) if len(cells) > name_col else ""
        if not code and not name:
            continue
        level = area_type_of(code)
        if level not in KEPT_LEVELS:
            unmatched.append({"file": file, "sheet": sheet.strip(), "row": n, "area_code": code,
                              "area_name": name})
            continue
        for i, p in periods.items():
            records.append({"row": n, "area_code": code, "area_name": name, "level": level,
                            "column": header[i], "raw": cells[i] if i < len(cells) else "",
                            "period_start": pd.Timestamp(p.start),
                            "period_end": pd.Timestamp(p.end), "period_label": p.label,
                            "period_type": p.kind, "mid_year": mid_year_for(p),
                            "ons_notes": notes_text(row_notes + column_notes[i], notes)})
    if not records:
        raise err("no data rows with a force area, region, country or England & Wales code",
                  header_row + 1)
    long = pd.DataFrame.from_records(records)
    numbers, reason, bad = parse_count(long["raw"])
    if bad.any():
        r = long[bad.to_numpy()].iloc[0]
        raise err(f"not a count: {r['raw']!r}", int(r["row"]), str(r["column"]))
    negative = numbers < 0
    if negative.fillna(False).any():
        r = long[negative.fillna(False).to_numpy()].iloc[0]
        raise err(f"negative count {r['raw']!r}", int(r["row"]), str(r["column"]))
    long["count"] = numbers.astype("float64")
    long["suppressed_reason"] = reason.astype("object")
    dup = long.duplicated(["area_code", "period_start", "period_end"])
    if dup.any():
        r = long[dup].iloc[0]
        raise err(f"area {r['area_code']} appears twice", int(r["row"]), "Area Code")
    unmatched_df = pd.DataFrame(unmatched,
                                columns=["file", "sheet", "row", "area_code", "area_name"])
    return long, unmatched_df, sheet, whole_table


BREAK_COLUMNS = ["indicator_id", "area_code", "break_date", "description", "affects"]
ENGLAND_AND_WALES = "K04000001"


def series_breaks(area_codes: list[str]) -> pd.DataFrame:
    """The registry's breaks of this indicator for the areas of the table (`area_codes`): a
    method change recorded for England and Wales (no `affects`) for every area, any other break
    for its own area (see the module docstring)."""
    rows = []
    codes = list(dict.fromkeys(area_codes))
    for b in breaks_for([INDICATOR_ID]).itertuples(index=False):
        if b.indicator_id != INDICATOR_ID:
            continue
        affects = None if pd.isna(b.affects) else b.affects
        national_method = b.area_code == ENGLAND_AND_WALES and affects is None
        for code in (codes if national_method else [c for c in codes if c == b.area_code]):
            rows.append({"indicator_id": INDICATOR_ID, "area_code": code, "break_date": b.break_date,
                         "description": b.note, "affects": affects})
    out = pd.DataFrame(rows, columns=BREAK_COLUMNS)
    out["break_date"] = pd.to_datetime(out["break_date"])
    return out


def indicators(source_id: str) -> pd.DataFrame:
    """The indicator's metadata: its row of the indicator registry (data/indicators.csv)."""
    return indicator_rows([INDICATOR_ID], source_id=source_id)


def parse_file(path: Path, geo: GeoContext, source_id: str = "ons_pfa_knife_table",
               quality: str = "official") -> Staged:
    path = Path(path)
    long, unmatched, sheet, table_notes = read_table(path, source_id)
    pops = PopulationLookup(geo)
    denominators, notes = [], []
    for code, year, count in zip(long["area_code"], long["mid_year"], long["count"]):
        pop, note = pops.total([code], int(year)) if pd.notna(count) else (None, None)
        denominators.append(pop)
        notes.append(note)
    long["denominator"] = denominators
    # ONS's own footnotes first, then what the rate's population needed saying
    long["note"] = ["; ".join(x for x in (ons_note, pop_note) if isinstance(x, str) and x) or None
                    for ons_note, pop_note in zip(long["ons_notes"], notes, strict=True)]
    long = add_rates(long)
    no_pop = long["count"].notna() & long["denominator"].isna()
    long.loc[no_pop, "suppressed_reason"] = "no population for rate"
    long["indicator_id"] = INDICATOR_ID
    long["quality"] = quality
    long["source_id"] = source_id
    observations = finish_observations(long, source_id=source_id, file=path.name)
    return Staged(
        source_id=source_id, observations=observations, indicators=indicators(source_id),
        tables={"ons_knife_unmatched_rows": unmatched,
                "series_breaks": series_breaks(list(observations["area_code"]))},
        files=[{"name": path.name, "sha256": sha256_file(path),
                "rows": int(long["row"].nunique()), "sheet": sheet.strip(), "publisher_notes": table_notes,
                "period": f"{long['period_label'].iloc[0]} to {long['period_label'].iloc[-1]}"}],
    )


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Parser interface. Each edition revises the whole series, so exactly one workbook is
    expected: with several, which one is current cannot be told from the file names alone."""
    if len(paths) != 1:
        raise SourceError(f"expected one workbook, found {len(paths)}: "
                          f"{', '.join(Path(p).name for p in paths) or 'none'}",
                          source_id=source.id)
    return parse_file(Path(paths[0]), geo, source.id, source.quality)
