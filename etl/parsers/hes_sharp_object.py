"""Parser for NHS Digital's HES tabulation "assault by sharp object" (ICD-10 X99) by region of
residence and month (`hes_sharp_object_region`), as shared in `UK_Knife_Crime_Workbook.xlsx`.

The workbook is NHS Digital's "Non-DARS tabulation request - Home Office": finished admission
episodes (FAEs) and finished consultant episodes (FCEs) by Government Office Region of
residence and month, April 2012 onwards, in four tables (totals, by sex, by age group, by
ethnicity). The person who shared it added their own `UK_Stabbings_*` sheets (England
reshaped); those are not the publisher's and are never read.

Why everything is found by content: a later tabulation can move the header, rename a sheet or
add a year, and the publisher's tables must still be found or the refresh must stop saying
where. So:

* a sheet is the publisher's when its title row (first cells) speaks of finished admission and
  consultant episodes, assault with a sharp object and region of residence; its kind (totals,
  sex, age group, ethnicity) comes from its header (a category column named `Age group` or
  `Ethnicity`, a row of `Female`/`Male` labels), never from its position or name. A kind with
  no sheet is a `SourceError` naming the sheet the publisher calls it;
* the header is the row starting `Year`, `Month`; the region row is above it (names fill
  rightwards over their FAEs/FCEs columns); columns with no FAEs/FCEs label are not read;
* a year label (`2018-19`, trailing spaces and line breaks allowed) starts a financial year;
  rows below it are months (`April` or `Apr`; `-` or blank repeats the month above in the
  breakdown sheets); `<year> Total` rows are the publisher's year totals. The year of a total
  row is the year whose months it closes: the 2021-22 total is labelled `2020-21 Total` in the
  file, and the correction is recorded in `hes_sharp_object_label_corrections`.

Disclosure control (the workbook's footnote 12): sub-national counts between 1 and 7 are shown
as `*`, every other sub-national count is rounded to the nearest 5, zeros are unchanged and the
national (England) figures are exact. So `*` becomes a missing count with the reason "1 to 7",
never zero; a blank cell is "not published", never zero; a `*` in an England column or a
sub-national count that is not a multiple of 5 is not what the footnote describes, and stops
the refresh naming the cell.

Observations: one indicator per measure (FAEs, FCEs), monthly and financial-year counts for the
nine English regions (E12) and England, with a crude rate per 100,000 residents from the ONS
mid-year population of the month's calendar year (financial years: the mid-year inside them).
Months whose mid-year population the warehouse does not hold keep their count, no rate, and
say why. The year totals are the publisher's own rows (regions rounded to 5), reconciled in
`hes_sharp_object_reconciliation` with the sum of England's months and of the regions.
Sex, age group and ethnicity go to `hes_sharp_object_breakdowns` (counts only, no population
by ethnicity exists to make rates); a year-total row of the age group and ethnicity sheets
covers every category, so its `category` and `category_key` are NULL.

Row numbers in errors are 1-based spreadsheet rows; columns are spreadsheet letters with the
header text. Imports: pandas, pandera, python_calamine, etl.*. Never streamlit.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from python_calamine import CalamineError, CalamineWorkbook

from etl.checksums import sha256_file
from etl.codes import ENGLAND
from etl.errors import SourceError
from etl.geocontext import GeoContext, normalise_area_name
from etl.parsers.knife_pfa_quarterly import add_rates
from etl.periods import Period, financial_year
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations, validate_frame

SOURCE_ID = "hes_sharp_object_region"
MEASURES = {"faes": "fae", "fces": "fce"}
INDICATOR_IDS = {"fae": "hes_sharp_object_assault_fae", "fce": "hes_sharp_object_assault_fce"}
ENGLAND_IDS = {"fae": "hes_sharp_object_assault_fae_england", "fce": "hes_sharp_object_assault_fce_england"}
# The publisher's sheet names, used only to say which table is missing.
KIND_SHEETS = {"totals": "GOR-Data-Totals", "sex": "GOR-Data-Gender", "age": "GOR-Data-Age-Group",
               "ethnicity": "GOR-Data-Ethnicity"}
CATEGORY_KINDS = {"age group": "age", "age": "age", "ethnicity": "ethnicity", "ethnic group": "ethnicity"}
SEX_LABELS = {"female": "female", "male": "male", "females": "female", "males": "male"}
# Residence labels that are not areas: kept for reconciliation, never observations.
OTHER_RESIDENCE = {
    "england not otherwise specified": "England, not otherwise specified",
    "foreign incl isle of man and channel islands": "Foreign (incl. Isle of Man and Channel Islands)",
    "other uk country": "Other UK country",
    "unknown": "Unknown",
}
REGION_ALIASES = {"east of england": "east"}
SUPPRESSED_REASON = "suppressed by NHS Digital (*): between 1 and 7 episodes"
EMPTY_REASON = "not published (empty cell in NHS Digital's table)"
ROUNDED_NOTE = "count rounded to the nearest 5 by NHS Digital (disclosure control)"
MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
MONTHS["sept"] = 9
YEAR_RE = re.compile(r"(\d{4})\s*[-/]\s*(\d{2})")
TOTAL_RE = re.compile(r"^(\d{4})\s*[-/]\s*(\d{2})\s+total$", re.IGNORECASE)
CONTINUE = {"", "-"}


def column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 27 -> AB)."""
    out, n = "", index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


@dataclass
class Column:
    """One FAEs or FCEs column of a sheet."""

    index: int
    residence: str  # as published
    area_code: str | None  # E12 / England code, None for the non-area residence labels
    measure: str  # fae / fce
    sex: str | None = None

    @property
    def name(self) -> str:
        sex = f" {self.sex}" if self.sex else ""
        return f"{column_letter(self.index)} ({self.residence}{sex} {self.measure.upper()}s)"


@dataclass
class SheetTable:
    """One publisher sheet read into long rows."""

    sheet: str
    kind: str
    header_row: int
    rows: list[dict] = field(default_factory=list)
    corrections: list[dict] = field(default_factory=list)


class _Reader:
    """Reads one workbook; every error names the file, the sheet, the row and the column."""

    def __init__(self, path: Path, geo: GeoContext, source_id: str) -> None:
        self.path, self.geo, self.source_id = path, geo, source_id
        try:
            self.wb = CalamineWorkbook.from_path(str(path))
        except (CalamineError, OSError, ValueError) as exc:
            raise SourceError(f"cannot open workbook: {exc}", source_id=source_id, file=path.name) from None
        self.regions = {normalise_area_name(n): c for c, n in
                        zip(geo.areas.loc[geo.areas["area_type"] == "region", "area_code"],
                            geo.areas.loc[geo.areas["area_type"] == "region", "area_name"])}

    def err(self, message: str, sheet: str | None = None, row: int | None = None,
            column: str | None = None) -> SourceError:
        file = f"{self.path.name} (sheet {sheet!r})" if sheet else self.path.name
        return SourceError(message, source_id=self.source_id, file=file, row=row, column=column)

    # ---------------------------------------------------------------- finding the sheets
    def publisher_sheets(self) -> dict[str, tuple[str, list[list]]]:
        """kind -> (sheet name, rows) for the four publisher tables."""
        found: dict[str, tuple[str, list[list]]] = {}
        for name in self.wb.sheet_names:
            rows = self.wb.get_sheet_by_name(name).to_python()
            if not _is_publisher_table(rows):
                continue
            kind = self._kind(name, rows)
            if kind in found:
                raise self.err(f"two sheets hold the {kind} table: {found[kind][0]!r} and {name!r}", name)
            found[kind] = (name, rows)
        for kind, usual in KIND_SHEETS.items():
            if kind not in found:
                what = "totals" if kind == "totals" else f"by {kind}"
                raise self.err(
                    f"sheet {usual!r} (NHS Digital's table of FAEs and FCEs for assault by sharp object "
                    f"by region of residence, {what}) is missing: no sheet with that title and header "
                    f"(sheets: {', '.join(self.wb.sheet_names)})")
        return found

    def _kind(self, sheet: str, rows: list[list]) -> str:
        h = self._header_index(sheet, rows)
        header = [_text(c).lower() for c in rows[h]]
        first_measure = next(i for i, c in enumerate(header) if c in MEASURES)
        categories = [c for c in header[2:first_measure] if c]
        if categories:
            kind = CATEGORY_KINDS.get(categories[0])
            if kind is None:
                raise self.err(f"unknown breakdown column {categories[0]!r} (expected 'Age group' or "
                               "'Ethnicity')", sheet, h + 1, column_letter(2))
            return kind
        if h >= 1 and any(_text(c).lower() in SEX_LABELS for c in rows[h - 1]):
            return "sex"
        return "totals"

    def _header_index(self, sheet: str, rows: list[list]) -> int:
        for i, row in enumerate(rows[:20]):
            cells = [_text(c).lower() for c in row]
            if cells and cells[0] == "year":
                if len(cells) < 2 or cells[1] != "month":
                    raise self.err(f"header row starts 'Year' but its next column is "
                                   f"{_text(row[1]) if len(row) > 1 else ''!r}, not 'Month'", sheet, i + 1, "B")
                if not any(c in MEASURES for c in cells):
                    raise self.err("header row has no 'FAEs' / 'FCEs' columns", sheet, i + 1)
                return i
        raise self.err("header row not found: no row in the first 20 whose first cell is 'Year'", sheet,
                       None, "A (Year)")

    # ---------------------------------------------------------------- the header
    def columns(self, sheet: str, kind: str, rows: list[list], h: int) -> list[Column]:
        header = [_text(c) for c in rows[h]]
        lower = [c.lower() for c in header]
        n_cat = 1 if kind in ("age", "ethnicity") else 0
        first = 2 + n_cat
        sex_row = rows[h - 1] if kind == "sex" else None
        region_at = h - 2 if kind == "sex" else h - 1
        region_row = rows[region_at] if region_at >= 0 else []
        cols: list[Column] = []
        residence, sex = "", None
        for i in range(first, len(header)):
            label = lower[i]
            name = _text(region_row[i]) if i < len(region_row) else ""
            if name:
                residence = name
            if sex_row is not None:
                s = _text(sex_row[i]).lower() if i < len(sex_row) else ""
                if s:
                    if s not in SEX_LABELS:
                        raise self.err(f"unknown sex label {_text(sex_row[i])!r} (expected Female or Male)",
                                       sheet, h, column_letter(i))
                    sex = SEX_LABELS[s]
            if not label:
                continue  # no measure label: not part of the publisher's table (notes, stray cells)
            if label not in MEASURES:
                raise self.err(f"column header {header[i]!r} is not 'FAEs' or 'FCEs'", sheet, h + 1,
                               column_letter(i))
            if not residence:
                raise self.err(f"no region of residence above column header {header[i]!r}", sheet,
                               region_at + 1, column_letter(i))
            cols.append(Column(i, residence, self._area(sheet, residence, region_at + 1, i), MEASURES[label], sex))
        if not cols:
            raise self.err("no 'FAEs' / 'FCEs' columns in the header row", sheet, h + 1)
        keys = [(c.residence, c.sex, c.measure) for c in cols]
        dup = next((c for c, k in zip(cols, keys) if keys.count(k) > 1), None)
        if dup is not None:
            raise self.err(f"{dup.residence} {dup.measure.upper()}s appears twice in the header", sheet,
                           h + 1, column_letter(dup.index))
        if not any(c.area_code == ENGLAND for c in cols):
            raise self.err("no 'England' columns (the national figures every total is checked against)",
                           sheet, region_at + 1)
        regions = {c.area_code for c in cols if c.area_code and c.area_code != ENGLAND}
        if len(regions) != 9:
            raise self.err(f"{len(regions)} English regions of residence in the header, expected 9", sheet,
                           region_at + 1)
        return cols

    def _area(self, sheet: str, name: str, row: int, col: int) -> str | None:
        key = normalise_area_name(name)
        if key == "england":
            return ENGLAND
        if key in OTHER_RESIDENCE:
            return None
        code = self.regions.get(REGION_ALIASES.get(key, key))
        if code is None:
            raise self.err(f"unknown region of residence {name!r} (expected the nine English regions, "
                           f"England, or {', '.join(OTHER_RESIDENCE.values())})", sheet, row, column_letter(col))
        return code

    # ---------------------------------------------------------------- the body
    def read_sheet(self, sheet: str, kind: str, rows: list[list]) -> SheetTable:
        h = self._header_index(sheet, rows)
        cols = self.columns(sheet, kind, rows, h)
        n_cat = 1 if kind in ("age", "ethnicity") else 0
        table = SheetTable(sheet, kind, h + 1)
        fy: int | None = None
        month: int | None = None
        months_seen: list[int] = []
        seen: set[tuple] = set()
        for n, row in enumerate(rows[h + 1:], start=h + 2):
            cells = [_text(c) for c in row]
            if not any(cells):
                continue
            first = cells[0]
            if first.lower().startswith("source"):
                break
            if m := TOTAL_RE.match(first):
                labelled = int(m.group(1))
                if fy is None:
                    raise self.err(f"year total {first!r} before any year", sheet, n, "A (Year)")
                if labelled != fy:
                    table.corrections.append({
                        "sheet": sheet, "row": n, "published_label": first,
                        "read_as": f"{financial_year(fy).label} total",
                        "why": f"the row closes the months of {financial_year(fy).label}"})
                self._values(table, sheet, kind, cols, cells, n, fy, None, None, seen)
                month = None
                continue
            if first not in CONTINUE:
                y = YEAR_RE.fullmatch(first)
                if not y or int(y.group(2)) != (int(y.group(1)) + 1) % 100:
                    raise self.err(f"not a financial year label like '2018-19' or '2018-19 Total': {first!r}",
                                   sheet, n, "A (Year)")
                fy, month, months_seen = int(y.group(1)), None, []
            if fy is None:
                raise self.err("data row before the first year label", sheet, n, "A (Year)")
            mtext = cells[1].lower().rstrip(".") if len(cells) > 1 else ""
            if mtext in CONTINUE:
                if n_cat == 0 or month is None:
                    raise self.err("no month on this row", sheet, n, "B (Month)")
            else:
                if mtext not in MONTHS:
                    raise self.err(f"not a month name: {cells[1]!r}", sheet, n, "B (Month)")
                month = MONTHS[mtext]
                if month in months_seen and n_cat == 0:
                    raise self.err(f"{cells[1]} appears twice in {financial_year(fy).label}", sheet, n,
                                   "B (Month)")
                if month not in months_seen:
                    months_seen.append(month)
            category = cells[2] if n_cat else None
            if n_cat and not category:
                raise self.err("no category on this row", sheet, n, f"C ({_text(rows[h][2])})")
            self._values(table, sheet, kind, cols, cells, n, fy, month, category, seen)
        if not table.rows:
            raise self.err("no data rows below the header", sheet, h + 2)
        return table

    def _values(self, table: SheetTable, sheet: str, kind: str, cols: list[Column], cells: list[str],
                n: int, fy: int, month: int | None, category: str | None, seen: set[tuple]) -> None:
        key = (fy, month, category)
        if key in seen:
            what = "year total" if month is None else calendar.month_name[month]
            raise self.err(f"duplicate row: {financial_year(fy).label} {what}"
                           + (f" {category}" if category else ""), sheet, n, "A (Year)")
        seen.add(key)
        for c in cols:
            raw = cells[c.index] if c.index < len(cells) else ""
            count, reason = self._count(sheet, n, c, raw, national_star=kind != "totals")
            table.rows.append({"sheet": sheet, "row": n, "fy_start": fy, "month": month, "category": category,
                               "residence": c.residence, "area_code": c.area_code, "sex": c.sex,
                               "measure": c.measure, "count": count, "suppressed_reason": reason})

    def _count(self, sheet: str, n: int, c: Column, raw: str, *,
               national_star: bool) -> tuple[float | None, str | None]:
        """A cell -> (count, reason). England's totals are exact and never suppressed (every total
        is checked against them); in the sex / age / ethnicity tables a national cell of 1-7 is
        shown as `*` too."""
        national = c.area_code == ENGLAND
        if raw == "":
            return None, EMPTY_REASON
        if raw == "*":
            if national and not national_star:
                raise self.err("'*' in an England column of the totals table: the footnotes suppress "
                               "only sub-national counts, and England's totals are exact", sheet, n, c.name)
            return None, SUPPRESSED_REASON
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            raise self.err(f"not a count or '*': {raw!r}", sheet, n, c.name) from None
        if value < 0 or not value.is_integer():
            raise self.err(f"not a whole non-negative count: {raw!r}", sheet, n, c.name)
        if not national and value % 5:
            raise self.err(f"sub-national count {raw} is not rounded to 5 as the footnotes say", sheet, n,
                           c.name)
        return value, None


def _is_publisher_table(rows: list[list]) -> bool:
    """NHS Digital's title: FAEs and FCEs, assault with a sharp object, region of residence."""
    text = " ".join(_text(c).lower() for row in rows[:3] for c in row[:2])
    return ("finished admission" in text and "finished consultant" in text and "sharp object" in text
            and "region of residence" in text)


LONG_SCHEMA = pa.DataFrameSchema(
    {
        "fy_start": pa.Column(int, pa.Check.in_range(1989, 2100)),
        "month": pa.Column(float, pa.Check.in_range(1, 12), nullable=True, coerce=True),
        "measure": pa.Column(str, pa.Check.isin(list(MEASURES.values()))),
        "count": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "suppressed_reason": pa.Column(str, nullable=True),
    },
    checks=[pa.Check(lambda d: d["count"].notna() | d["suppressed_reason"].notna(),
                     error="a missing count must carry its reason")],
)


def _month_period(fy: int, month: int) -> Period:
    year = fy if month >= 4 else fy + 1
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last), f"{year}-{month:02d}", "month")


def read_workbook(path: Path, geo: GeoContext, source_id: str = SOURCE_ID,
                  reader: _Reader | None = None) -> dict[str, SheetTable]:
    """kind -> the sheet's long rows, for the four publisher sheets."""
    reader = reader or _Reader(Path(path), geo, source_id)
    out = {}
    for kind, (sheet, rows) in reader.publisher_sheets().items():
        table = reader.read_sheet(sheet, kind, rows)
        frame = pd.DataFrame(table.rows)
        validate_frame(LONG_SCHEMA, frame[list(LONG_SCHEMA.columns)], source_id=source_id,
                       file=f"{Path(path).name} (sheet {sheet!r})", row_offset=None)
        out[kind] = table
    return out


def _provisional_year(reader: _Reader, sheet: str) -> int | None:
    """The financial year the title calls provisional ('for 2021-22 (Provisional, ...)')."""
    rows = reader.wb.get_sheet_by_name(sheet).to_python()
    text = " ".join(_text(c) for row in rows[:3] for c in row[:2])
    m = re.search(r"(\d{4})\s*-\s*\d{2}\s*\(\s*provisional", text, re.IGNORECASE)
    return int(m.group(1)) if m else None


def _totals_check(frame: pd.DataFrame, reader_err, sheet: str) -> pd.DataFrame:
    """Per financial year and measure: England's published total against the sum of its months,
    and the regions' (rounded) published totals against England. A year whose England months do
    not add up to England's total means a shifted or truncated table: the refresh stops."""
    eng = frame[frame["area_code"] == ENGLAND]
    out = []
    for (fy, measure), grp in eng.groupby(["fy_start", "measure"]):
        total = grp[grp["month"].isna()]
        months = grp[grp["month"].notna()]
        published = float(total["count"].iloc[0]) if len(total) else None
        month_sum = float(months["count"].sum())
        if len(total) and published != month_sum:
            r = total.iloc[0]
            raise reader_err(f"England {measure.upper()}s total for {financial_year(int(fy)).label} is "
                             f"{published:,.0f} but its {len(months)} months add up to {month_sum:,.0f}",
                             sheet, int(r["row"]), f"England {measure.upper()}s")
        sub = frame[(frame["fy_start"] == fy) & (frame["measure"] == measure) & frame["month"].isna()
                    & (frame["area_code"] != ENGLAND)]
        regions = sub[sub["area_code"].notna()]
        out.append({
            "financial_year": financial_year(int(fy)).label, "measure": measure.upper(),
            "england_published_total": published, "england_months_sum": month_sum,
            "england_months": len(months),
            "regions_published_total_sum": float(regions["count"].sum()),
            "regions_suppressed": int(regions["count"].isna().sum()),
            "other_residence_total_sum": float(sub[sub["area_code"].isna()]["count"].sum()),
            "difference_all_residence_minus_england": (
                float(sub["count"].sum()) - published if published is not None else None),
        })
    return pd.DataFrame(out)


def indicators(source_id: str = SOURCE_ID) -> pd.DataFrame:
    """Regional rates and England totals of admission episodes (FAE) and consultant episodes
    (FCE, not admissions): rows of the indicator registry (data/indicators.csv), whose
    `measure` column says which."""
    return indicator_rows([INDICATOR_IDS["fae"], INDICATOR_IDS["fce"], ENGLAND_IDS["fae"], ENGLAND_IDS["fce"]],
                          source_id=source_id)


RESIDENTS_NOTE = ("England = sum of the nine regions' published counts (each rounded to 5): patients living "
                  "in an English region, counted as the regional figures are; patients living abroad, "
                  "elsewhere in the UK, in England with no region recorded, or of unknown residence are "
                  "not included (NHS Digital's England total, which includes them, is a separate indicator)")


def _england_residents(frame: pd.DataFrame) -> pd.DataFrame:
    """England as its regions count it: the sum of the nine regions, for the regional
    indicators' England benchmark (a region set against NHS Digital's all-patient England total
    would be compared with a figure that counts non-residents too). A period with a suppressed
    region has no sum, and says why."""
    regions = frame[frame["area_code"].notna() & (frame["area_code"] != ENGLAND)]
    rows = []
    for (fy, month, measure), grp in regions.groupby(["fy_start", "month", "measure"], dropna=False):
        missing = grp[grp["count"].isna()]
        rows.append({"fy_start": fy, "month": month, "measure": measure, "area_code": ENGLAND,
                     "residence": "England (sum of regions)", "row": int(grp["row"].iloc[0]),
                     "count": None if len(missing) else float(grp["count"].sum()),
                     "suppressed_reason": (f"no sum: {', '.join(missing['residence'])} not published "
                                           "(suppressed or empty)") if len(missing) else None})
    return pd.DataFrame(rows)


def _observations(frame: pd.DataFrame, geo: GeoContext) -> pd.DataFrame:
    regional = pd.concat([frame[frame["area_code"].notna() & (frame["area_code"] != ENGLAND)],
                          _england_residents(frame)], ignore_index=True)
    obs = _with_periods(regional)
    held = geo.population
    held_years = held.loc[held["area_code"].isin(obs["area_code"].unique()) & (held["age_band"] == "all")
                          & (held["sex"] == "persons"), "year"]
    span = (f"mid-{int(held_years.min())} to mid-{int(held_years.max())}" if len(held_years) else "no years")
    denominators, notes = [], []
    for code, year, count in zip(obs["area_code"], obs["mid_year"], obs["count"]):
        pop, used = geo.population_for(code, int(year))
        extra = RESIDENTS_NOTE if code == ENGLAND else ROUNDED_NOTE if pd.notna(count) else None
        if pd.isna(count):
            denominators.append(pop)
            notes.append(extra)
        elif pop is None or used != int(year):
            denominators.append(None)
            why = (f"no rate: the warehouse has no ONS mid-{int(year)} population for this area "
                   f"(it holds {span}); the count is shown as published")
            notes.append("; ".join(x for x in (why, extra) if x))
        else:
            denominators.append(pop)
            notes.append("; ".join(x for x in (f"rate per 100,000 from ONS mid-{int(year)} population", extra)
                                   if x))
    obs["denominator"] = denominators
    obs["note"] = notes
    obs = add_rates(obs)
    no_pop = obs["count"].notna() & obs["denominator"].isna()
    obs.loc[no_pop, "suppressed_reason"] = obs.loc[no_pop, "note"].str.split(";").str[0]
    obs["indicator_id"] = obs["measure"].map(INDICATOR_IDS)

    # NHS Digital's own England figure (all patients in English hospitals, exact): a count.
    eng = _with_periods(frame[frame["area_code"] == ENGLAND])
    eng["value"] = eng["count"]
    eng["note"] = ("as published by NHS Digital: all episodes in English NHS hospitals (and NHS-commissioned "
                   "independent sector), whatever the patient's residence; exact, not rounded")
    eng["indicator_id"] = eng["measure"].map(ENGLAND_IDS)
    return pd.concat([obs, eng], ignore_index=True)


def _with_periods(frame: pd.DataFrame) -> pd.DataFrame:
    obs = frame.copy()
    periods = [financial_year(int(fy)) if pd.isna(m) else _month_period(int(fy), int(m))
               for fy, m in zip(obs["fy_start"], obs["month"])]
    obs["period_start"] = [pd.Timestamp(p.start) for p in periods]
    obs["period_end"] = [pd.Timestamp(p.end) for p in periods]
    obs["period_label"] = [p.label for p in periods]
    obs["period_type"] = [p.kind for p in periods]
    # Month: its calendar year's mid-year; financial year: the mid-year (30 June) inside it.
    obs["mid_year"] = [p.start.year for p in periods]
    return obs


def _breakdowns(tables: dict[str, SheetTable]) -> pd.DataFrame:
    parts = []
    for kind in ("sex", "age", "ethnicity"):
        t = pd.DataFrame(tables[kind].rows)
        t["dimension"] = kind
        t["category"] = t["sex"] if kind == "sex" else t["category"]
        # A year-total row of the age / ethnicity sheets covers every category: no category and
        # no key (NULL), never the text of a missing value.
        t["category_key"] = ([_category_key(c) if isinstance(c, str) and c.strip() else None for c in t["category"]]
                             if kind != "sex" else t["category"])
        parts.append(t)
    out = pd.concat(parts, ignore_index=True)
    out["financial_year"] = [financial_year(int(y)).label for y in out["fy_start"]]
    out["period_label"] = [financial_year(int(y)).label if pd.isna(m) else _month_period(int(y), int(m)).label
                           for y, m in zip(out["fy_start"], out["month"])]
    out["measure"] = out["measure"].str.upper()
    return out[["dimension", "category", "category_key", "residence", "area_code", "financial_year",
                "period_label", "measure", "count", "suppressed_reason", "sheet", "row"]]


def _category_key(label: object) -> str:
    """The same age band or ethnic group however a year's table spells it ('10 to 19' and
    '10-19'; 'Under 10', '0-9' and '0 to 9'; '80 and over' and '80+'); the published label is kept."""
    text = " ".join(str(label).lower().split())
    if m := re.fullmatch(r"(\d+)\s*(?:to|-)\s*(\d+)", text):
        return f"{m.group(1)}-{m.group(2)}"
    if m := re.fullmatch(r"under (\d+)", text):
        return f"0-{int(m.group(1)) - 1}"
    if m := re.fullmatch(r"(\d+)\s*(?:\+|and over|plus)", text):
        return f"{m.group(1)}+"
    if text in ("unknown age", "unknown", "unknown / invalid", "not known"):
        return "unknown"
    return text


def parse_file(path: Path, geo: GeoContext, source_id: str = SOURCE_ID, quality: str = "official") -> Staged:
    path = Path(path)
    reader = _Reader(path, geo, source_id)
    tables = read_workbook(path, geo, source_id, reader)
    totals = tables["totals"]
    frame = pd.DataFrame(totals.rows)
    reconciliation = _totals_check(frame, reader.err, totals.sheet)
    obs = _observations(frame, geo)
    provisional = _provisional_year(reader, totals.sheet)
    if provisional is not None:
        late = obs["period_start"] >= pd.Timestamp(financial_year(provisional).start)
        obs.loc[late, "note"] = ("provisional (NHS Digital: counts from provisional data are likely to be lower "
                                 "than final ones); " + obs.loc[late, "note"])
    obs["quality"] = quality
    obs["source_id"] = source_id
    observations = finish_observations(obs, source_id=source_id, file=path.name)
    corrections = pd.DataFrame([c for t in tables.values() for c in t.corrections],
                               columns=["sheet", "row", "published_label", "read_as", "why"])
    other = frame[frame["area_code"].isna()].copy()
    other["period_label"] = [financial_year(int(y)).label if pd.isna(m) else _month_period(int(y), int(m)).label
                             for y, m in zip(other["fy_start"], other["month"])]
    other["measure"] = other["measure"].str.upper()
    other = other[["residence", "period_label", "measure", "count", "suppressed_reason", "row"]]
    months = obs[obs["period_type"] == "month"]["period_label"]
    return Staged(
        source_id=source_id, observations=observations, indicators=indicators(source_id),
        tables={"hes_sharp_object_reconciliation": reconciliation.assign(file=path.name),
                "hes_sharp_object_breakdowns": _breakdowns(tables).assign(file=path.name),
                "hes_sharp_object_other_residence": other.assign(file=path.name).reset_index(drop=True),
                "hes_sharp_object_label_corrections": corrections.assign(file=path.name)},
        files=[{"name": path.name, "sha256": sha256_file(path),
                "rows": len({r["row"] for r in totals.rows}), "sheet": totals.sheet,
                "period": f"{months.min()} to {months.max()}"}],
        stats={"months": int(months.nunique()), "sheets": {k: t.sheet for k, t in tables.items()},
               "label_corrections": len(corrections)},
    )


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Parser interface. Each tabulation repeats the whole series from April 2012, so exactly one
    workbook is expected: with several, which is current cannot be told from the names."""
    if len(paths) != 1:
        raise SourceError(f"expected one workbook, found {len(paths)}: "
                          f"{', '.join(Path(p).name for p in paths) or 'none'}", source_id=source.id)
    return parse_file(Path(paths[0]), geo, source.id, source.quality)
