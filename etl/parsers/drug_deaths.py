"""ONS deaths related to drug poisoning by local authority of usual residence and year of
registration, England and Wales (`ons_drug_poisoning_deaths_la`).

Why this parser exists: it is the one real, local, long drug-harm series on these machines, so
it is what the drug family leads with locally (the treatment figures are synthetic stand-ins).

The file (one table, as re-laid from the ONS workbook with the figures as published):
`code, name, 2020, 2019, ..., 1993`; Windows-1252; names may carry trailing spaces; rows for
England and Wales, England, Wales, regions, counties (E10), metropolitan counties (E11), Inner
and Outer London (E13) and every local authority on 2021 boundaries. The layout is checked
strictly and every problem is a `SourceError` naming the file, row and column:

* encoding: Windows-1252 as published; a UTF-8 re-save is read as UTF-8 (unambiguous), anything
  else (UTF-16, bytes neither encoding allows, double-encoded names like `KingÃ¢â‚¬â„¢s`) fails;
* row 1 is the header: `code`, `name`, then one column per registration year (4 digits, no
  gaps); a new year column (e.g. 2021) is simply a new period;
* every count cell is a whole number: ONS publishes every count, small ones included, so a
  suppression marker (`:`, `x`, `[c]`, ...) or an empty cell means the layout changed and is an
  error rather than a guess;
* codes: a local authority code must be a current (2021-boundary) LAD of the geography and carry
  that LAD's name; region, country and England & Wales codes must be known; county, metropolitan
  county and Inner/Outer London rows are kept out (no such geography here) and listed;
* totals: the local authorities of England, of Wales and of each region must add up to the
  published row, year by year (a missing or altered row fails the load). England and Wales is
  allowed to exceed England + Wales: ONS counts deaths of non-residents there.

What is produced (family `drug_treatment`, quality `official`, polarity higher is worse):

* `drug_deaths_registered`: deaths registered in each year, as published, for local authorities,
  regions, Wales, England and England & Wales; CSPs as the sum of their local authorities, only
  where every one is in the file and none is split across several CSPs.
* `drug_deaths_rate_3y`: 3-year registration periods (e.g. 2018-2020), as ONS reports local
  figures: count = deaths in the three years, crude rate per 100,000 = count / the sum of the
  three ONS mid-year populations (exact years only, never a nearest year) x 100,000, with a
  95% interval by Byar's method (methods.rates). No rate from fewer than 10 deaths (ONS does not
  calculate one) and none where a year's population is missing: the count stays, the reason is
  stated. The England & Wales figure here counts residents only (England + Wales), so that it
  counts like the local figures it is a benchmark for.

Imports: pandas, etl.*, methods.rates. Never streamlit.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from etl.checksums import sha256_file
from etl.codes import AREA_CODE_PATTERNS, ENGLAND, ENGLAND_AND_WALES, WALES, area_type_of
from etl.errors import SourceError
from etl.geocontext import GeoContext, normalise_area_name
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations, validate_frame
from etl.suppression import is_marker
from methods.rates import crude_rate_frame

SOURCE_ID = "ons_drug_poisoning_deaths_la"
COUNT_ID = "drug_deaths_registered"
RATE_ID = "drug_deaths_rate_3y"
WINDOW = 3  # ONS reports local figures for 3-year registration periods
MIN_DEATHS_FOR_RATE = 10  # ONS calculates no rate from fewer deaths
LOW_RELIABILITY_BELOW = 20  # ONS flags rates from fewer deaths as unreliable ('u')
PER = 100_000
LOADED_LEVELS = ("lad", "region", "country", "national")
# Upper tiers in the file with no geography in this warehouse: read, checked, listed, not loaded.
OTHER_TIERS = {"E10": "county", "E11": "metropolitan county", "E13": "Inner or Outer London"}
MOJIBAKE = re.compile(r"Ã.|â€|Â[^\w\s]")

COUNTS_SCHEMA = pa.DataFrameSchema(
    {
        "row": pa.Column(int, pa.Check.ge(2)),
        "area_code": pa.Column(str, pa.Check.str_matches(
            "^(?:" + "|".join(AREA_CODE_PATTERNS[k].strip("^$") for k in LOADED_LEVELS) + ")$")),
        "level": pa.Column(str, pa.Check.isin(LOADED_LEVELS)),
        "year": pa.Column(int, pa.Check.in_range(1900, 2100)),
        "count": pa.Column(int, pa.Check.ge(0)),
    },
    unique=["area_code", "year"],
    strict=False,
)


@dataclass
class Table:
    """What the file holds once read and checked."""

    counts: pd.DataFrame  # row, area_code, area_name, level, year, count (loaded levels only)
    not_loaded: pd.DataFrame  # file, row, area_code, area_name, reason
    years: list[int]
    encoding: str


# --- reading ---------------------------------------------------------------------------------

def _cell_of(line: bytes, offset: int, header: list[str]) -> str | None:
    """The header name of the cell holding byte `offset` of `line` (commas counted, quotes
    ignored: good enough to point at the cell)."""
    i = line[:offset].count(b",")
    return header[i] if i < len(header) else None


def decode(raw: bytes, file: str, source_id: str = SOURCE_ID) -> tuple[str, str]:
    """(text, encoding). Windows-1252 is the publisher's; a UTF-8 re-save is accepted because
    its multi-byte sequences cannot be mistaken for Windows-1252 text."""
    def err(message: str, row: int | None = None, column: str | None = None) -> SourceError:
        return SourceError(message, source_id=source_id, file=file, row=row, column=column)

    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw:
        row = raw[: raw.find(b"\x00")].count(b"\n") + 1 if b"\x00" in raw else 1
        raise err("not Windows-1252 text (UTF-16 or binary: NUL bytes); save the table as CSV in "
                  "Windows-1252 or UTF-8", row=row)
    header = raw.split(b"\n", 1)[0].decode("latin-1").strip().split(",")
    try:
        text = raw.decode("utf-8-sig")
        encoding = "ascii" if raw.isascii() else "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = raw.decode("cp1252"), "windows-1252"
        except UnicodeDecodeError as exc:
            start = raw.rfind(b"\n", 0, exc.start) + 1
            raise err(f"byte 0x{raw[exc.start]:02x} is neither Windows-1252 (the publisher's "
                      "encoding) nor UTF-8", row=raw[: exc.start].count(b"\n") + 1,
                      column=_cell_of(raw[start:], exc.start - start, header)) from None
    return text, encoding


def _header(rows: list[list[str]], err) -> tuple[list[str], dict[int, int]]:
    """Checked header and {column index: year}."""
    if not rows:
        raise err("file is empty (no header row)", 1)
    header = [h.strip() for h in rows[0]]
    for i, want in enumerate(("code", "name")):
        got = header[i] if i < len(header) else ""
        if got.lower() != want:
            raise err(f"row 1 is not the expected header: column {i + 1} should be {want!r}, found "
                      f"{got!r} (header {header[:4]}...)", 1, got or want)
    years: dict[int, int] = {}
    for i, h in enumerate(header[2:], start=2):
        if not re.fullmatch(r"(19|20)\d\d", h):
            raise err(f"column {h!r} is not a registration year (expected 4 digits such as '2020')",
                      1, h)
        if int(h) in years.values():
            raise err(f"year {h} appears twice in the header", 1, h)
        years[i] = int(h)
    if not years:
        raise err("no registration-year columns after 'code' and 'name'", 1)
    span = sorted(years.values())
    gaps = sorted(set(range(span[0], span[-1] + 1)) - set(span))
    if gaps:
        raise err(f"year column(s) {', '.join(map(str, gaps))} missing between {span[0]} and "
                  f"{span[-1]}", 1)
    return header, years


def _count(text: str, err, row: int, column: str) -> int:
    cell = text.strip()
    if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", cell):
        return int(cell.replace(",", ""))
    if is_marker(cell) or cell.lower() in ("x", "c", "z", "u", "low"):
        what = "an empty cell" if not cell else f"suppression marker {cell!r}"
        raise err(f"{what} where a count is expected: ONS publishes every count of this table "
                  "(small ones included), so this is a change of layout, not something to guess",
                  row, column)
    raise err(f"not a whole number of deaths: {cell!r}", row, column)


def read_table(path: Path, geo: GeoContext, source_id: str = SOURCE_ID) -> Table:
    """Read, check and reshape the file; see the module docstring for every rule."""
    path = Path(path)
    file = path.name

    def err(message: str, row: int | None = None, column: str | None = None) -> SourceError:
        return SourceError(message, source_id=source_id, file=file, row=row, column=column)

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise err(f"cannot read file: {exc}") from None
    text, encoding = decode(raw, file, source_id)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, years = _header(rows, err)
    lads = {c for c in geo.codes("lad") if _current(geo, c)}
    known = set(geo.areas["area_code"])
    records, not_loaded, seen = [], [], {}
    for n, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise err(f"row has {len(cells)} cells but the header has {len(header)} (truncated or "
                      "misaligned row)", n, header[min(len(cells), len(header)) - 1])
        code, name = cells[0].strip(), cells[1].strip()
        if MOJIBAKE.search(name):
            raise err(f"name {name!r} looks double-encoded (UTF-8 read as Windows-1252 and saved "
                      "again): wrong encoding", n, "name")
        if code in seen:
            raise err(f"area code {code} appears twice (first on row {seen[code]})", n, "code")
        seen[code] = n
        level = area_type_of(code)
        if code[:3] in OTHER_TIERS and re.fullmatch(r"E1[013]\d{6}", code):
            not_loaded.append({"file": file, "row": n, "area_code": code, "area_name": name,
                               "reason": f"{OTHER_TIERS[code[:3]]}: no such geography in this "
                                         "warehouse (its districts are loaded)"})
            for i in years:  # still checked, though not loaded
                _count(cells[i], err, n, header[i])
            continue
        if level not in LOADED_LEVELS:
            raise err(f"{code!r} is not an area code this publication uses (England and Wales, "
                      "country, region, county, local authority)", n, "code")
        if level == "lad":
            if code not in lads:
                raise err(f"local authority code {code} is not a current (2021-boundary) local "
                          "authority in the ONS lookup", n, "code")
            ours = geo.name_of(code) or ""
            if normalise_area_name(name.split(" / ")[0]) != normalise_area_name(ours):
                raise err(f"code {code} is named {name!r} here but {ours!r} in the ONS lookup: "
                          "wrong code or row", n, "code")
        elif code not in known:
            raise err(f"{level} code {code} is not in the geography", n, "code")
        counts = [_count(cells[i], err, n, header[i]) for i in years]
        for (i, year), count in zip(years.items(), counts):
            records.append({"row": n, "area_code": code, "area_name": name, "level": level,
                            "year": year, "count": count, "column": header[i]})
    if not records:
        raise err("no data rows", 2)
    counts = validate_frame(COUNTS_SCHEMA, pd.DataFrame(records), source_id=source_id, file=file,
                            row_offset=None)
    _check_totals(counts, geo, err)
    return Table(counts, pd.DataFrame(not_loaded, columns=["file", "row", "area_code", "area_name",
                                                            "reason"]),
                 sorted(years.values()), encoding)


def _current(geo: GeoContext, code: str) -> bool:
    rows = geo.areas[geo.areas["area_code"] == code]
    return bool(len(rows)) and ("valid_to" not in rows or rows["valid_to"].isna().any())


def _current_links(geo: GeoContext, child_type: str, parent_type: str) -> pd.DataFrame:
    links = geo.links
    keep = (links["child_type"] == child_type) & (links["parent_type"] == parent_type)
    if "valid_to" in links:
        keep &= links["valid_to"].isna()
    return links.loc[keep, ["child_code", "parent_code"]].drop_duplicates()


def _check_totals(counts: pd.DataFrame, geo: GeoContext, err) -> None:
    """Local authorities add up to England, Wales and each region; E&W >= England + Wales."""
    wide = counts.pivot(index="area_code", columns="year", values="count")
    rows = counts.drop_duplicates("area_code").set_index("area_code")["row"]
    lad = wide[wide.index.str.match(AREA_CODE_PATTERNS["lad"])]
    for code in (ENGLAND_AND_WALES, ENGLAND, WALES):
        if code not in wide.index:
            raise err(f"no row for {code}: the local authorities cannot be checked against it")
    groups = {ENGLAND: lad[lad.index.str.startswith("E")], WALES: lad[lad.index.str.startswith("W")]}
    # A LAD's region is not a direct link: walk LAD -> CSP -> force area -> region.
    region_of = {c: r[0] for c in lad.index if len(r := geo.parents(c, "region")) == 1}
    for region in [c for c in wide.index if c.startswith("E12")]:
        groups[region] = lad[lad.index.map(region_of.get) == region]
    for code, members in groups.items():
        diff = members.sum() - wide.loc[code]
        if (diff != 0).any():
            year = int(diff[diff != 0].index[0])
            raise err(f"{code}: the file gives {int(wide.loc[code, year]):,} deaths in {year} but its "
                      f"{len(members)} local authorities in the file add up to "
                      f"{int(members[year].sum()):,} (a row is missing or a figure changed)",
                      int(rows[code]), str(year))
    residents = wide.loc[ENGLAND] + wide.loc[WALES]
    short = wide.loc[ENGLAND_AND_WALES] < residents
    if short.any():
        year = int(short[short].index[0])
        raise err(f"England and Wales ({int(wide.loc[ENGLAND_AND_WALES, year]):,}) is less than "
                  f"England + Wales ({int(residents[year]):,}) in {year}",
                  int(rows[ENGLAND_AND_WALES]), str(year))


# --- CSPs ------------------------------------------------------------------------------------

def csp_members(geo: GeoContext, lads_in_file: set[str]) -> tuple[dict[str, list[str]], list[dict]]:
    """({csp: its local authorities} for CSPs that can be summed, [skipped CSPs with reason])."""
    links = _current_links(geo, "lad", "csp")
    csps = sorted(c for c in geo.codes("csp") if _current(geo, c))
    n_csps = links.groupby("child_code")["parent_code"].nunique()
    members, skipped = {}, []
    for csp in csps:
        lads = sorted(links.loc[links["parent_code"] == csp, "child_code"])
        split = [lad for lad in lads if n_csps.get(lad, 0) > 1]
        missing = [lad for lad in lads if lad not in lads_in_file]
        if not lads:
            reason = "no local authority linked to this CSP in the 2021 lookup"
        elif split:
            reason = (f"inside a local authority split across several CSPs ({', '.join(split)}): "
                      "deaths are published for the whole authority only")
        elif missing:
            reason = f"local authority {', '.join(missing)} not in the file"
        else:
            members[csp] = lads
            continue
        skipped.append({"file": None, "row": None, "area_code": csp, "area_name": geo.name_of(csp),
                        "reason": f"CSP not summed: {reason}"})
    return members, skipped


def _with_csps(counts: pd.DataFrame, members: dict[str, list[str]], geo: GeoContext) -> pd.DataFrame:
    """Annual counts for every loaded area, CSPs added as sums of their local authorities."""
    out = counts[["area_code", "level", "year", "count"]].assign(note=None)
    lad = counts[counts["level"] == "lad"].set_index(["area_code", "year"])["count"]
    years = sorted(counts["year"].unique())
    rows = []
    for csp, lads in members.items():
        names = ", ".join(f"{geo.name_of(x) or x} ({x})" for x in lads)
        note = (f"same area as local authority {names}: its published count" if len(lads) == 1 else
                f"sum of the published counts of its local authorities: {names}")
        for y in years:
            rows.append({"area_code": csp, "level": "csp", "year": y,
                         "count": int(sum(lad[(x, y)] for x in lads)), "note": note})
    return pd.concat([out, pd.DataFrame(rows)], ignore_index=True)


# --- observations ----------------------------------------------------------------------------

def _calendar_year(y: int) -> dict:
    return {"period_start": pd.Timestamp(date(y, 1, 1)), "period_end": pd.Timestamp(date(y, 12, 31)),
            "period_label": str(y), "period_type": "calendar_year"}


def _window(last: int) -> dict:
    first = last - WINDOW + 1
    return {"period_start": pd.Timestamp(date(first, 1, 1)),
            "period_end": pd.Timestamp(date(last, 12, 31)),
            "period_label": f"{first}-{last}", "period_type": "pooled_calendar_years"}


def annual_observations(areas: pd.DataFrame, non_residents: dict[int, int],
                        source_id: str, quality: str) -> pd.DataFrame:
    out = areas.copy()
    out["note"] = [
        (f"As published: includes {non_residents[y]:,} deaths of people not resident in England "
         "and Wales" if c == ENGLAND_AND_WALES else n)
        for c, y, n in zip(out["area_code"], out["year"], out["note"])]
    periods = pd.DataFrame([_calendar_year(int(y)) for y in out["year"]], index=out.index)
    out = pd.concat([out, periods], axis=1)
    return out.assign(indicator_id=COUNT_ID, value=out["count"].astype(float), denominator=None,
                      quality=quality, source_id=source_id)


def _population(geo: GeoContext, code: str, years: list[int]) -> tuple[float | None, list[int]]:
    """Sum of the exact mid-years' populations, or (None, the missing years)."""
    total, missing = 0.0, []
    for y in years:
        pop, used = geo.population_for(code, y)
        if pop is None or used != y:
            missing.append(y)
        else:
            total += pop
    return (None, missing) if missing else (total, [])


def rolling_observations(areas: pd.DataFrame, geo: GeoContext, non_residents: dict[int, int],
                         source_id: str, quality: str) -> pd.DataFrame:
    """3-year sums and crude rates; E&W as residents (England + Wales) to count like the rest."""
    resident = areas[areas["area_code"].isin([ENGLAND, WALES])].groupby("year")["count"].sum()
    base = areas[areas["area_code"] != ENGLAND_AND_WALES][["area_code", "year", "count"]]
    base = pd.concat([base, pd.DataFrame({"area_code": ENGLAND_AND_WALES, "year": resident.index,
                                          "count": resident.to_numpy()})], ignore_index=True)
    wide = base.pivot(index="area_code", columns="year", values="count")
    years = sorted(wide.columns)
    pop_years = sorted({int(y) for y in geo.population.loc[geo.population["age_band"] == "all", "year"]})
    pop_span = f"mid-{pop_years[0]} to mid-{pop_years[-1]}" if pop_years else "none"
    rows = []
    for last in years[WINDOW - 1:]:
        window = list(range(last - WINDOW + 1, last + 1))
        if any(y not in wide.columns for y in window):
            continue
        for code, count in wide[window].sum(axis=1).items():
            pop, missing = _population(geo, code, window)
            note = None
            if code == ENGLAND_AND_WALES:
                extra = sum(non_residents[y] for y in window)
                note = (f"Residents of England and Wales only (England + Wales): the published "
                        f"England and Wales totals for these years also count {extra:,} deaths of "
                        "non-residents, which no local area holds, so they are left out here to "
                        "count like the local figures")
            reason = None
            if pop is None:
                reason = (f"no ONS mid-year population for mid-{', mid-'.join(map(str, missing))} "
                          f"(population estimates in the warehouse: {pop_span}): count only, no rate")
            elif count < MIN_DEATHS_FOR_RATE:
                reason = (f"rate not calculated: fewer than {MIN_DEATHS_FOR_RATE} deaths in "
                          f"{window[0]}-{last} (ONS calculates no rate from so few)")
            else:
                how = (f"crude rate: {count:,.0f} deaths / {pop:,.0f} (ONS mid-"
                       f"{', mid-'.join(map(str, window))} populations summed) x 100,000")
                low = (f"fewer than {LOW_RELIABILITY_BELOW} deaths: ONS marks such rates as "
                       "unreliable" if count < LOW_RELIABILITY_BELOW else None)
                note = "; ".join(filter(None, [how, low, note]))
            rows.append({"area_code": code, "count": float(count), "denominator": pop,
                         "suppressed_reason": reason, "note": note, **_window(last)})
    out = pd.DataFrame(rows)
    rated = crude_rate_frame(out.assign(count=out["count"].where(out["suppressed_reason"].isna())),
                             per=PER)
    out[["value", "lower_ci", "upper_ci"]] = rated[["value", "lower_ci", "upper_ci"]]
    return out.assign(indicator_id=RATE_ID, quality=quality, source_id=source_id)


def indicators(source_id: str = SOURCE_ID) -> pd.DataFrame:
    """The count and 3-year rate: rows of the indicator registry (data/indicators.csv)."""
    return indicator_rows([COUNT_ID, RATE_ID], source_id=source_id)


def parse(paths: list[Path], source, geo: GeoContext) -> Staged:
    """Parser interface: exactly one file (each edition revises the whole series)."""
    source_id = getattr(source, "id", SOURCE_ID)
    quality = getattr(source, "quality", "official")
    if len(paths) != 1:
        raise SourceError(f"expected one file, found {len(paths)}: "
                          f"{', '.join(Path(p).name for p in paths) or 'none'}", source_id=source_id)
    path = Path(paths[0])
    table = read_table(path, geo, source_id)
    counts = table.counts
    wide = counts.pivot(index="area_code", columns="year", values="count")
    non_residents = {int(y): int(wide.loc[ENGLAND_AND_WALES, y] - wide.loc[ENGLAND, y]
                                 - wide.loc[WALES, y]) for y in wide.columns}
    members, skipped = csp_members(geo, set(counts.loc[counts["level"] == "lad", "area_code"]))
    areas = _with_csps(counts, members, geo)
    obs = pd.concat([annual_observations(areas, non_residents, source_id, quality),
                     rolling_observations(areas, geo, non_residents, source_id, quality)],
                    ignore_index=True)
    observations = finish_observations(obs, source_id=source_id, file=path.name)
    not_loaded = pd.concat([table.not_loaded, pd.DataFrame(skipped)], ignore_index=True)
    return Staged(
        source_id=source_id, observations=observations, indicators=indicators(source_id),
        tables={"drug_deaths_not_loaded": not_loaded.assign(source_id=source_id)},
        files=[{"name": path.name, "sha256": sha256_file(path),
                "rows": int(counts["row"].nunique() + len(table.not_loaded)),
                "period": f"{table.years[0]} to {table.years[-1]} (registrations)",
                "encoding": table.encoding}],
        stats={"csps_summed": len(members), "csps_not_summed": len(skipped)},
    )
