"""police.uk street-level crime files -> monthly counts per LAD, CSP, force, region and E&W.

Why it is built this way:
- DuckDB reads the (gzip) CSVs and aggregates to LSOA x crime type inside one SQL query, so
  millions of records never become Python objects. Each file is read by its own `read_csv` in a
  UNION ALL: DuckDB 2.0 given a list of files with an explicit schema silently read only some of
  them (seen here), so every file's row count is also checked to be present.
- Aggregates are kept per file with the file's sha256, so a refresh that adds a month reuses the
  earlier months' aggregates from the live warehouse and only reads the new files.
- Records are placed LSOA -> LAD -> CSP -> force by the LSOA name (`<LAD name> 043A`, LAD names
  of the LSOA's publication) and both lookup vintages. An LSOA code seen anywhere with a
  pre-2019 district name lets later records in a split unitary authority (named after the new
  LAD) reach their old CSP. What cannot be placed is counted by reason, never dropped.
- A CSP's count comes from its own force's file: a month without that file is missing, never
  zero; a file far shorter than the force's usual month is 'partial' and its counts withheld.
"""
from __future__ import annotations

import csv
import gzip
import io
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from etl.checksums import sha256_file, sha256_stream
from etl.codes import ENGLAND, ENGLAND_AND_WALES, WALES
from etl.errors import SourceError
from etl.geocontext import GeoContext, normalise_area_name
from etl.manifest import Source
from etl.periods import EARLIEST, implausible_period
from etl.periods import month as parse_month
from etl.registry import indicator_rows
from etl.staged import Staged, finish_observations, validate_frame
from methods.rates import crude_rate_frame

HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
          "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
CRIME_TYPES = {
    "Possession of weapons": "police_uk_possession_of_weapons",
    "Violence and sexual offences": "police_uk_violence_and_sexual_offences",
    "Robbery": "police_uk_robbery",
    "Drugs": "police_uk_drugs",
}
KNOWN_TYPES = set(CRIME_TYPES) | {
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
    "Other crime", "Other theft", "Public order", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violent crime", "Public disorder and weapons"}
FILE_RE = re.compile(r"(?:^|/)(\d{4}-\d{2})-([a-z-]+?)-street\.csv(?:\.gz)?$")
NON_TERRITORIAL = {"btp": "British Transport Police"}
LSOA_NAME_RE = re.compile(r"^(.*) (\d{3}[A-Z])$")


@dataclass(frozen=True)
class StreetFile:
    month: str
    force: str
    path: Path  # the .csv/.csv.gz, or the .zip archive holding `member`
    member: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path.name}!{self.member}" if self.member else self.path.name


def discover(paths: list[Path]) -> list[StreetFile]:
    """Street files among `paths` (.csv, .csv.gz, or monthly .zip archives). When archives
    overlap, the (month, force) from the archive listed last wins."""
    found: dict[tuple[str, str], StreetFile] = {}
    for path in sorted(paths):
        if path.suffix == ".zip":
            try:
                with zipfile.ZipFile(path) as z:
                    members = z.infolist()
            except zipfile.BadZipFile:
                raise SourceError("not a zip archive", source_id="police_uk_street",
                                  file=path.name) from None
            for info in members:
                m = info.filename
                if (hit := FILE_RE.search(m)) and info.file_size > MAX_MEMBER_BYTES:
                    raise SourceError(f"archive member decompresses to {info.file_size:,} bytes, over "
                                      f"the {MAX_MEMBER_BYTES:,}-byte limit for one force-month "
                                      "(damaged or hostile archive): not read",
                                      source_id="police_uk_street", file=f"{path.name}!{m}")
                if hit:
                    found[(hit.group(1), hit.group(2))] = StreetFile(hit.group(1), hit.group(2), path, m)
        elif hit := FILE_RE.search(path.name):
            found[(hit.group(1), hit.group(2))] = StreetFile(hit.group(1), hit.group(2), path)
    for f in found.values():
        try:
            problem = implausible_period(parse_month(f.month).start, earliest=EARLIEST["police_uk"])
        except ValueError as exc:
            problem = str(exc)
        if problem:
            raise SourceError(f"month {f.month} in the file name: {problem}",
                              source_id="police_uk_street", file=f.name, column="Month")
    return sorted(found.values(), key=lambda f: (f.month, f.force))


# The largest real force-month file (Metropolitan Police) is about 30 MB; an archive member
# many times that is a damaged or hostile archive (a "zip bomb"), refused before it is read.
MAX_MEMBER_BYTES = 512 * 1024 * 1024


def extract_member(f: StreetFile, dest: Path, limit: int | None = None) -> None:
    """Copy the archive member `f.member` to `dest`, streamed, refusing it once it decompresses
    past `limit` bytes (default MAX_MEMBER_BYTES; the declared size is checked first, the bytes
    actually read too)."""
    limit = MAX_MEMBER_BYTES if limit is None else limit
    try:
        with zipfile.ZipFile(f.path) as z:
            info = z.getinfo(f.member)
            if info.file_size > limit:
                raise SourceError(f"archive member decompresses to {info.file_size:,} bytes, over the "
                                  f"{limit:,}-byte limit for one force-month (damaged or hostile "
                                  "archive): not read", source_id="police_uk_street", file=f.name)
            written = 0
            with z.open(info) as src, open(dest, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > limit:
                        raise SourceError(f"archive member decompresses past the {limit:,}-byte "
                                          "limit for one force-month (damaged or hostile archive): "
                                          "not read", source_id="police_uk_street", file=f.name)
                    out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        dest.unlink(missing_ok=True)
        raise SourceError(f"cannot read archive member ({exc})", source_id="police_uk_street",
                          file=f.name) from None
    except SourceError:
        dest.unlink(missing_ok=True)
        raise


def file_sha256(f: StreetFile) -> str:
    if f.member:
        with zipfile.ZipFile(f.path) as z, z.open(f.member) as fh:
            return sha256_stream(fh)
    return sha256_file(f.path)


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115 - caller closes
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def check_header(f: StreetFile, local: Path) -> None:
    """The first line must be the published header; name the first column that differs."""
    try:
        with _open_text(local) as fh:
            first = fh.readline()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise SourceError(f"cannot read file ({exc})", source_id="police_uk_street", file=f.name) from None
    except UnicodeDecodeError:
        raise SourceError("not UTF-8 text", source_id="police_uk_street", file=f.name, row=1) from None
    if not first.strip():
        raise SourceError("file is empty (no header row)", source_id="police_uk_street", file=f.name, row=1)
    got = next(csv.reader([first.lstrip("\ufeff")]))
    for i, expected in enumerate(HEADER):
        if i >= len(got) or got[i].strip() != expected:
            raise SourceError(f"expected column {expected!r} at position {i + 1}, found "
                              f"{got[i] if i < len(got) else 'nothing'!r} (not a police.uk street file?)",
                              source_id="police_uk_street", file=f.name, row=1, column=expected)


def diagnose(f: StreetFile, local: Path) -> SourceError:
    """Find the row and column of a file DuckDB could not read, with Python's csv module."""
    try:
        with _open_text(local) as fh:
            reader = csv.reader(fh)
            next(reader, None)
            row = 1
            for row_no, rec in enumerate(reader, start=2):
                row = row_no
                if len(rec) != len(HEADER):
                    return SourceError(f"row has {len(rec)} fields, expected {len(HEADER)} "
                                       "(truncated or malformed file)", source_id="police_uk_street",
                                       file=f.name, row=row_no, column=HEADER[min(len(rec), len(HEADER) - 1)])
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        return SourceError(f"file ends early or is corrupt after row {row} ({exc})",
                           source_id="police_uk_street", file=f.name, row=row)
    except UnicodeDecodeError:
        return SourceError(f"not UTF-8 text after row {row}", source_id="police_uk_street",
                           file=f.name, row=row + 1)
    except csv.Error as exc:
        return SourceError(f"malformed CSV ({exc})", source_id="police_uk_street", file=f.name, row=row + 1)
    return SourceError("DuckDB could not read this file", source_id="police_uk_street", file=f.name)


def _locate_value(f: StreetFile, local: Path, column: str, bad: str) -> int | None:
    idx = HEADER.index(column)
    with _open_text(local) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row_no, rec in enumerate(reader, start=2):
            if len(rec) > idx and rec[idx] == bad:
                return row_no
    return None


# The per-file aggregates the refresh keeps and reuses: guarded before they are stored.
LSOA_COUNTS_SCHEMA = pa.DataFrameSchema({
    "file_key": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}/[a-z-]+$")),
    "lsoa_code": pa.Column(str, pa.Check.str_matches(r"^(E01|W01)\d{6}$"), nullable=True),
    "lsoa_name": pa.Column(str, nullable=True),
    "crime_type": pa.Column(str, pa.Check.isin(list(CRIME_TYPES))),
    "n": pa.Column(int, pa.Check.gt(0), coerce=True),
}, unique=["file_key", "lsoa_code", "lsoa_name", "crime_type"])
BATCH_FILES = 48  # about one month of forces per query: bounds DuckDB's per-file buffers


def aggregate_files(files: list[tuple[StreetFile, Path]], con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(lsoa_counts, file_totals) for the given files, read by DuckDB in batches of files.

    lsoa_counts: file_key, lsoa_code, lsoa_name, crime_type, n (the four crime types only);
    file_totals: file_key, rows, rows_selected, rows_no_lsoa, months, bad_type, bad_lsoa.
    Batching keeps memory flat as months accumulate (one query over thousands of files reserves
    buffers per file and ran out of memory at 10x the mirror); the schema is given and sniffing is
    off (`auto_detect=false`), which is most of the speed: the layout is checked by `check_header`.
    """
    if len(files) > BATCH_FILES:
        parts = [_aggregate_batch(files[i:i + BATCH_FILES], con) for i in range(0, len(files), BATCH_FILES)]
        return (pd.concat([p[0] for p in parts], ignore_index=True),
                pd.concat([p[1] for p in parts], ignore_index=True))
    return _aggregate_batch(files, con)


def _aggregate_batch(files: list[tuple[StreetFile, Path]], con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not files:
        return (pd.DataFrame(columns=["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]),
                pd.DataFrame(columns=["file_key", "rows"]))
    cols = {c: "VARCHAR" for c in HEADER}
    parts = []
    for i, (_f, local) in enumerate(files):
        parts.append(
            f"SELECT {i} AS k, \"Month\" AS month, \"LSOA code\" AS lsoa_code, \"LSOA name\" AS lsoa_name, "
            f"\"Crime type\" AS crime_type FROM read_csv({_sql_str(str(local))}, columns=$cols, "
            "header=true, delim=',', quote='\"', escape='\"', strict_mode=true, auto_detect=false)")
    union = " UNION ALL ".join(parts)
    selected = ", ".join(_sql_str(t) for t in CRIME_TYPES)
    known = ", ".join(_sql_str(t) for t in KNOWN_TYPES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE pu_rows_agg AS SELECT k, month, lsoa_code, lsoa_name, "
                f"crime_type, count(*) AS n FROM ({union}) GROUP BY ALL", {"cols": cols})
    counts = con.execute(f"SELECT k, lsoa_code, lsoa_name, crime_type, n FROM pu_rows_agg "
                         f"WHERE crime_type IN ({selected})").df()
    totals = _totals(con, selected, known)
    con.execute("DROP TABLE pu_rows_agg")
    keys = {i: f"{f.month}/{f.force}" for i, (f, _) in enumerate(files)}
    counts["file_key"] = counts.pop("k").map(keys)
    totals["file_key"] = totals.pop("k").map(keys)
    return counts, totals


def _totals(con: duckdb.DuckDBPyConnection, selected: str, known: str) -> pd.DataFrame:
    return con.execute(f"""
        SELECT k, sum(n)::BIGINT AS rows,
               coalesce(sum(n) FILTER (WHERE crime_type IN ({selected})), 0)::BIGINT AS rows_selected,
               coalesce(sum(n) FILTER (WHERE lsoa_code IS NULL), 0)::BIGINT AS rows_no_lsoa,
               list_distinct(list(month)) AS months,
               any_value(crime_type) FILTER (WHERE crime_type IS NULL OR crime_type NOT IN ({known})) AS bad_type,
               any_value(lsoa_code) FILTER (WHERE lsoa_code IS NOT NULL
                   AND NOT regexp_full_match(lsoa_code, '(E01|W01)[0-9]{{6}}')) AS bad_lsoa
        FROM pu_rows_agg GROUP BY k""").df()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def district_key(name: str) -> str:
    """The key an LSOA name's district part and a lookup's LAD name are matched on: case,
    punctuation, '&'/'and' and ', City of' insensitive (`normalise_area_name`), and without a
    leading 'The', which police.uk writes for some districts the ONS lookups name without it
    ('The Vale of Glamorgan 001A' for LAD 'Vale of Glamorgan')."""
    key = normalise_area_name(name)
    return key[4:] if key.startswith("the ") else key


def resolve_lsoas(lsoas: pd.DataFrame, geo: GeoContext, l17: pd.DataFrame, l21: pd.DataFrame) -> pd.DataFrame:
    """Place every (lsoa_code, lsoa_name) seen: lad21_code, csp_code, reason (None when placed).

    `l17` / `l21`: the two lookups (lad_code, lad_name, csp_code). An LSOA code's names across
    all files loaded are pooled, so an old-name sighting resolves a new-name record.
    """
    names21 = {district_key(n): c for c, n in zip(l21["lad_code"], l21["lad_name"])}
    names17 = {district_key(n): c for c, n in zip(l17["lad_code"], l17["lad_name"])}
    csp17 = dict(zip(l17["lad_code"], l17["csp_code"]))
    csps21 = l21.groupby("lad_code")["csp_code"].apply(lambda s: sorted(set(s))).to_dict()
    # LAD17 -> LAD21 where the code changed: the one new LAD21 inside the same CSP.
    lad21_set, lad17_set = set(l21["lad_code"]), set(l17["lad_code"])
    new21_by_csp = l21[~l21["lad_code"].isin(lad17_set)].groupby("csp_code")["lad_code"].apply(set).to_dict()
    lad17_to_21 = {}
    for lad, csp in csp17.items():
        if lad in lad21_set:
            lad17_to_21[lad] = lad
        elif len(new21_by_csp.get(csp, set())) == 1:
            lad17_to_21[lad] = next(iter(new21_by_csp[csp]))

    df = lsoas[["lsoa_code", "lsoa_name"]].drop_duplicates().copy()
    base = df["lsoa_name"].fillna("").str.extract(LSOA_NAME_RE)[0].fillna("").map(district_key)
    df["lad21_named"] = base.map(names21)
    df["lad17_named"] = base.map(names17)
    by_code = df.groupby("lsoa_code").agg(lad21=("lad21_named", "first"), lad17=("lad17_named", "first"))
    df = df.join(by_code, on="lsoa_code")
    df["lad17"] = df["lad17_named"].fillna(df["lad17"])
    df["lad21"] = df["lad21_named"].fillna(df["lad21"])
    df["lad21"] = df["lad21"].fillna(df["lad17"].map(lad17_to_21))

    def place(r) -> tuple[str | None, str | None]:
        if pd.isna(r.lsoa_code):
            return None, "no location (empty LSOA)"
        if pd.isna(r.lad21) and pd.isna(r.lad17):
            return None, "LSOA name not matched to any LAD of either lookup"
        if pd.notna(r.lad21) and len(csps21.get(r.lad21, [])) == 1:
            return csps21[r.lad21][0], None
        if pd.notna(r.lad17) and r.lad17 in csp17:
            return csp17[r.lad17], None
        return None, "in a unitary LAD split across CSPs; LSOA never seen with a pre-2019 district name"

    placed = [place(r) for r in df.itertuples()]
    df["csp_code"] = [p[0] for p in placed]
    df["reason"] = [p[1] for p in placed]
    return df[["lsoa_code", "lsoa_name", "lad21", "csp_code", "reason"]].rename(columns={"lad21": "lad21_code"})


# A force-month is 'partial' when one of its large series (all records, or one of the four crime
# types, with SHORT_MIN_EXPECTED+ records expected) falls under SHORT_RATIO of what the force's own
# neighbouring months give. Why these numbers: with 500+ records expected, chance (Poisson) moves a
# month by under 5%, and across the mirror's 39 forces x 8 months no complete file fell below 80%
# of its neighbours, while the short files are far below: Kent 2018-12 (violence 36%), Kent
# 2018-11 (violence 73%), Dyfed-Powys 2024 (4-36%). Small series (robbery, weapons) move by a
# third from month to month on their own, so they are not used to judge a file.
SHORT_RATIO = 0.75
SHORT_MIN_EXPECTED = 500
NEIGHBOUR_WINDOW = 12  # months either side that count as neighbouring
NEIGHBOURS = 4  # nearest unflagged months used (at least 2)


def _month_index(m: str) -> int:
    return int(m[:4]) * 12 + int(m[5:7]) - 1


def _days(m: str) -> int:
    return pd.Period(m, freq="M").days_in_month


def short_months(series: dict[str, dict[str, float]]) -> dict[str, str]:
    """Months judged short for one force: {month: reason}.

    `series`: {series name: {month: count}} (e.g. 'all records' and each crime type). A month's
    expected count is the median per-day count of its nearest NEIGHBOURS months not already
    judged short (within NEIGHBOUR_WINDOW months, else the nearest at any distance), times its
    days. The worst month below SHORT_RATIO is flagged, then the rest are judged again without
    it, so one short month never makes its neighbour look complete (Kent 2018-11 beside 2018-12)
    and a run of short months (Dyfed-Powys 2024) is found from the months before it.
    """
    months = sorted({m for s in series.values() for m in s})
    flagged: dict[str, str] = {}
    while True:
        worst: tuple[float, str, str] | None = None
        for m in months:
            if m in flagged:
                continue
            for name, s in series.items():
                if m not in s:
                    continue
                others = sorted((o for o in s if o != m and o not in flagged),
                                key=lambda o: (abs(_month_index(o) - _month_index(m)), o))
                near = [o for o in others if abs(_month_index(o) - _month_index(m)) <= NEIGHBOUR_WINDOW]
                nb = near[:NEIGHBOURS] if len(near) >= 2 else others[:NEIGHBOURS]
                if len(nb) < 2:
                    continue
                expected = float(np.median([s[o] / _days(o) for o in nb])) * _days(m)
                if expected < SHORT_MIN_EXPECTED:
                    continue
                ratio = s[m] / expected
                if ratio < SHORT_RATIO and (worst is None or ratio < worst[0]):
                    why = (f"{name}: {s[m]:,.0f} against {expected:,.0f} expected from the force's "
                           f"neighbouring months ({ratio:.0%})")
                    worst = (ratio, m, why)
        if worst is None:
            return flagged
        flagged[worst[1]] = worst[2]


def coverage_grid(totals: pd.DataFrame, counts: pd.DataFrame, pfa_by_slug: dict[str, str | None],
                  months: list[str]) -> pd.DataFrame:
    """Force x month: present / partial / missing, with rows and the force's typical month.

    'partial' when `short_months` finds the file short against the force's own neighbouring
    months: e.g. Dyfed-Powys 2024, Kent's short late-2018 files (MANIFEST: police_uk coverage).
    """
    rows = []
    t = totals.set_index("file_key")
    by_type = counts.groupby(["file_key", "crime_type"])["n"].sum()
    for slug, pfa in sorted(pfa_by_slug.items()):
        keys = {m: f"{m}/{slug}" for m in months if f"{m}/{slug}" in t.index}
        present = [t.loc[k, "rows"] for k in keys.values()]
        typical = float(np.median(present)) if len(present) >= 3 else None
        series = {"all records": {m: float(t.loc[k, "rows"]) for m, k in keys.items()}}
        for ct in CRIME_TYPES:
            series[ct] = {m: float(by_type.get((k, ct), 0)) for m, k in keys.items()}
        short = short_months(series)
        for m in months:
            if m not in keys:
                rows.append((slug, pfa, m, "missing", None, typical, "no file for this force and month"))
                continue
            n = int(t.loc[keys[m], "rows"])
            rows.append((slug, pfa, m, "partial" if m in short else "present", n, typical, short.get(m, "")))
    return pd.DataFrame(rows, columns=["force", "pfa_code", "month", "status", "rows", "typical_rows", "note"])


def parse(paths: list[Path], source: Source, geo: GeoContext, *, previous: duckdb.DuckDBPyConnection | None = None,
          lookups: dict[str, pd.DataFrame] | None = None) -> Staged:
    """All street files -> staged observations, coverage, reconciliation and per-file aggregates.

    `previous`: a read-only connection to the live warehouse; per-file aggregates whose sha256
    is unchanged are taken from it instead of re-reading the file. `lookups`: the 2017 and 2021
    LAD -> CSP lookups ({'l17': ..., 'l21': ...}, columns lad_code, lad_name, csp_code).
    """
    files = discover(paths)
    if not files:
        raise SourceError("no police.uk street files found (expected YYYY-MM/YYYY-MM-<force>-street.csv[.gz] "
                          "or a monthly .zip archive)", source_id=source.id)
    con = duckdb.connect()
    reused_counts, reused_totals, to_read, file_rows = [], [], [], []
    shas = {f: file_sha256(f) for f in files}
    prev_counts, prev_totals = _previous_aggregates(previous, set(shas.values()))
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            sha = shas[f]
            key = f"{f.month}/{f.force}"
            file_rows.append({"file_key": key, "month": f.month, "force": f.force, "file_name": f.name, "sha256": sha})
            if sha in prev_totals:
                reused_counts.append(prev_counts.get(sha, _EMPTY_COUNTS).assign(file_key=key))
                reused_totals.append(prev_totals[sha].assign(file_key=key))
                continue
            local = f.path
            if f.member:
                local = Path(tmp) / Path(f.member).name
                extract_member(f, local)
            check_header(f, local)
            to_read.append((f, local))
        try:
            new_counts, new_totals = aggregate_files(to_read, con)
        except duckdb.Error:
            for f, local in to_read:
                try:
                    aggregate_files([(f, local)], con)
                except duckdb.Error:
                    raise diagnose(f, local).located(source_id=source.id) from None
            raise
        _validate_totals(new_totals, to_read, source.id)
    # Only what was read now is checked: reused aggregates were checked when first stored.
    if len(new_counts):
        new_counts = validate_frame(LSOA_COUNTS_SCHEMA, new_counts[["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]],
                                    source_id=source.id, file="police.uk street files (aggregated)", row_offset=None)
    counts = pd.concat([*reused_counts, new_counts], ignore_index=True)
    totals = pd.concat([*reused_totals, new_totals], ignore_index=True)
    files_df = pd.DataFrame(file_rows).merge(totals[["file_key", "rows", "rows_selected", "rows_no_lsoa"]],
                                             on="file_key", how="left")
    files_df["reused"] = files_df["file_key"].isin([c["file_key"].iloc[0] for c in reused_counts if len(c)])
    return build_staged(counts, files_df, source, geo, lookups or {}, n_read=len(to_read))


_EMPTY_COUNTS = pd.DataFrame(columns=["lsoa_code", "lsoa_name", "crime_type", "n"])


def _previous_aggregates(previous, shas: set[str]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Per-file aggregates of unchanged files (by sha256) from the live warehouse, in one query."""
    if previous is None or not shas:
        return {}, {}
    try:
        con = previous
        con.execute("CREATE OR REPLACE TEMP TABLE want(sha256 VARCHAR)")
        con.executemany("INSERT INTO want VALUES (?)", [[s] for s in shas])
        totals = con.execute("""SELECT f.sha256, f.rows, f.rows_selected, f.rows_no_lsoa FROM wh.police_uk_files f
                                JOIN want USING (sha256)""").df()
        counts = con.execute("""SELECT f.sha256, c.lsoa_code, c.lsoa_name, c.crime_type, c.n
                                FROM wh.police_uk_lsoa_counts c JOIN wh.police_uk_files f USING (file_key)
                                JOIN want USING (sha256)""").df()
    except duckdb.Error:
        return {}, {}  # an older warehouse without these tables: read the files again
    totals = totals.drop_duplicates("sha256")
    return ({sha: g.drop(columns="sha256") for sha, g in counts.groupby("sha256")},
            {sha: g.drop(columns="sha256") for sha, g in totals.groupby("sha256")})


def _validate_totals(totals: pd.DataFrame, files: list[tuple[StreetFile, Path]], source_id: str) -> None:
    by_key = {f"{f.month}/{f.force}": (f, local) for f, local in files}
    seen = set(totals["file_key"]) if len(totals) else set()
    for key, (f, _local) in by_key.items():
        if key not in seen:
            raise SourceError("file has a header but no records", source_id=source_id, file=f.name, row=2)
    for r in totals.itertuples():
        f, local = by_key[r.file_key]
        months = [m for m in r.months if m != f.month]
        if months:
            row = _locate_value(f, local, "Month", months[0]) if months[0] is not None else None
            raise SourceError(f"Month {months[0]!r} in a file for {f.month}", source_id=source_id,
                              file=f.name, row=row, column="Month")
        if r.bad_type is not None and not pd.isna(r.bad_type):
            raise SourceError(f"unknown crime type {r.bad_type!r}", source_id=source_id, file=f.name,
                              row=_locate_value(f, local, "Crime type", r.bad_type), column="Crime type")
        if r.bad_lsoa is not None and not pd.isna(r.bad_lsoa):
            raise SourceError(f"{r.bad_lsoa!r} is not an LSOA code (E01/W01 + 6 digits)", source_id=source_id,
                              file=f.name, row=_locate_value(f, local, "LSOA code", r.bad_lsoa), column="LSOA code")


def build_staged(counts: pd.DataFrame, files_df: pd.DataFrame, source: Source, geo: GeoContext,
                 lookups: dict[str, pd.DataFrame], n_read: int = 0) -> Staged:
    months = sorted(files_df["month"].unique())
    slugs = set(files_df["force"]) | _all_force_slugs(geo)
    pfa_by_slug = {s: (None if s in NON_TERRITORIAL else geo.pfa_code(s.replace("-", " "))) for s in slugs}
    unknown = [s for s, c in pfa_by_slug.items() if c is None and s not in NON_TERRITORIAL]
    if unknown:
        bad = files_df[files_df["force"].isin(unknown)]
        raise SourceError(f"force {unknown[0]!r} is not an England & Wales police force",
                          source_id=source.id, file=bad["file_name"].iloc[0] if len(bad) else "")
    con = duckdb.connect()
    con.register("counts", counts)
    by_type = con.execute("SELECT file_key, crime_type, sum(n)::BIGINT AS n FROM counts GROUP BY ALL").df()
    coverage = coverage_grid(files_df, by_type, pfa_by_slug, months)
    lsoas = con.execute("SELECT DISTINCT lsoa_code, lsoa_name FROM counts").df()
    placed = resolve_lsoas(lsoas, geo, lookups["l17"], lookups["l21"])
    # Collapse LSOA rows to one row per file x placement x crime type in DuckDB: at 30x the
    # mirror the LSOA table has millions of rows, the collapsed one a few hundred thousand.
    con.register("placed", placed)
    c = con.execute("""
        SELECT c.file_key, p.lad21_code, p.csp_code, p.reason, c.crime_type, sum(c.n)::BIGINT AS n
        FROM counts c LEFT JOIN placed p
          ON c.lsoa_code IS NOT DISTINCT FROM p.lsoa_code AND c.lsoa_name IS NOT DISTINCT FROM p.lsoa_name
        GROUP BY ALL""").df()
    con.close()
    for col in ("lad21_code", "csp_code", "reason"):
        c[col] = c[col].astype(object).where(c[col].notna(), None)
    keys = files_df.set_index("file_key")
    c["force"] = c["file_key"].map(keys["force"])
    c["month"] = c["file_key"].map(keys["month"])
    c["force_pfa"] = c["force"].map(pfa_by_slug)
    csp_pfa = geo.links[geo.links["child_type"] == "csp"].set_index("child_code")["parent_code"].to_dict()
    c["csp_pfa"] = c["csp_code"].map(csp_pfa)
    c["outside"] = c["csp_code"].notna() & c["force_pfa"].notna() & (c["csp_pfa"] != c["force_pfa"])
    c["status"] = np.select(
        [c["force_pfa"].isna(), c["reason"].notna(), c["outside"]],
        ["non-territorial force (not placed in CSPs)", c["reason"].fillna(""),
         "located outside the reporting force's area"], "placed in a CSP")
    reconciliation = (c.groupby(["month", "force", "crime_type", "status"], as_index=False)["n"].sum())

    present_keys = set(coverage.loc[coverage["status"] == "present", "month"] + "/"
                        + coverage.loc[coverage["status"] == "present", "force"])
    ok = c[c["file_key"].isin(present_keys)]
    terr = ok[ok["force_pfa"].notna()]
    obs = []
    # CSP: records of the CSP's own force, placed in the CSP
    inside = terr[terr["status"] == "placed in a CSP"]
    obs.append(_level_counts(inside, "csp_code", coverage, csp_pfa, geo, "csp", months))
    # LAD (2021): records of the LAD's force placed in the LAD; split LADs only here
    lad_pfa = _lad_pfa(geo)
    lad_in = terr[terr["lad21_code"].notna() & (terr["lad21_code"].map(lad_pfa) == terr["force_pfa"])]
    obs.append(_level_counts(lad_in, "lad21_code", coverage, lad_pfa, geo, "lad", months))
    # PFA: everything the force reported, placed or not (the force's own published total)
    obs.append(_level_counts(terr.assign(pfa=terr["force_pfa"]), "pfa", coverage,
                             {p: p for p in set(pfa_by_slug.values()) if p}, geo, "pfa", months))
    pfa_obs = obs[-1]
    benchmarks = pd.concat([like_for_like_benchmarks(obs[0], "csp", csp_pfa, geo),
                            like_for_like_benchmarks(obs[1], "lad", lad_pfa, geo)], ignore_index=True)
    obs.append(_rollup(pfa_obs, geo, coverage, "region"))
    obs.append(_rollup(pfa_obs, geo, coverage, "national"))
    observations = pd.concat([o for o in obs if len(o)], ignore_index=True)
    observations["quality"] = source.quality
    observations["source_id"] = source.id
    observations["period_type"] = "month"
    staged = Staged(source_id=source.id)
    staged.observations = finish_observations(observations, source_id=source.id)
    staged.indicators = _indicators(source.id)
    staged.tables = {
        "police_uk_coverage": coverage,
        "police_uk_reconciliation": reconciliation,
        "police_uk_lsoa_counts": counts[["file_key", "lsoa_code", "lsoa_name", "crime_type", "n"]],
        "police_uk_files": files_df,
        "police_uk_lsoa_placement": placed,
        "benchmarks": benchmarks.assign(quality=source.quality, source_id=source.id),
    }
    staged.files = [{"file_name": r.file_name, "sha256": r.sha256, "rows": int(r.rows), "period": r.month,
                     "reused": bool(r.reused)} for r in files_df.itertuples()]
    staged.stats = {"files": len(files_df), "files_read": n_read}
    return staged


def _all_force_slugs(geo: GeoContext) -> set[str]:
    """Slugs of every territorial force, so a force with no file at all shows as missing."""
    names = geo.areas.loc[geo.areas["area_type"] == "pfa", "area_name"]
    out = set()
    for n in names:
        slug = re.sub(r"[^a-z]+", "-", n.lower().replace("&", "and")).strip("-")
        slug = {"london-city-of": "city-of-london", "metropolitan-police": "metropolitan"}.get(slug, slug)
        out.add(slug)
    return out


def _lad_pfa(geo: GeoContext) -> dict[str, str]:
    links = geo.links
    lad_csp = links[(links["child_type"] == "lad") & (links["parent_type"] == "csp")]
    csp_pfa = links[links["child_type"] == "csp"].set_index("child_code")["parent_code"]
    m = lad_csp.assign(pfa=lad_csp["parent_code"].map(csp_pfa)).drop_duplicates("child_code")
    return dict(zip(m["child_code"], m["pfa"]))


def _level_counts(rows: pd.DataFrame, code_col: str, coverage: pd.DataFrame, area_pfa: dict[str, str],
                  geo: GeoContext, level: str, months: list[str]) -> pd.DataFrame:
    """Counts per area x month x crime type, with explicit zeros for areas whose force file is
    present (a present file with no such record is a true zero) and no row where it is not."""
    present = coverage[coverage["status"] == "present"][["pfa_code", "month"]].dropna()
    areas = pd.DataFrame({"area_code": list(area_pfa), "pfa_code": list(area_pfa.values())})
    grid = areas.merge(present, on="pfa_code").merge(pd.DataFrame({"crime_type": list(CRIME_TYPES)}), how="cross")
    got = rows.groupby([code_col, "month", "crime_type"], as_index=False)["n"].sum().rename(columns={code_col: "area_code"})
    out = grid.merge(got, on=["area_code", "month", "crime_type"], how="left")
    out["count"] = out["n"].fillna(0).astype(float)
    return _with_rates(out, geo, level)


def _with_rates(out: pd.DataFrame, geo: GeoContext, level: str, note: pd.Series | None = None) -> pd.DataFrame:
    out = out.copy()
    out["indicator_id"] = out["crime_type"].map(CRIME_TYPES)
    periods = {m: parse_month(m) for m in out["month"].unique()}
    out["period_start"] = out["month"].map(lambda m: periods[m].start)
    out["period_end"] = out["month"].map(lambda m: periods[m].end)
    out["period_label"] = out["month"]
    pops = {}
    for code, m in out[["area_code", "month"]].drop_duplicates().itertuples(index=False):
        pops[(code, m)] = geo.population_for(code, int(m[:4]))
    if "denominator" not in out:
        out["denominator"] = [pops[(a, m)][0] for a, m in zip(out["area_code"], out["month"])]
        years = [pops[(a, m)][1] for a, m in zip(out["area_code"], out["month"])]
    else:
        years = out["pop_year"].tolist()
    out["value"] = out["count"] / out["denominator"] * 100_000
    rated = crude_rate_frame(out.assign(denominator=out["denominator"].astype(float)), count_col="count",
                             pop_col="denominator")
    out["value"], out["lower_ci"], out["upper_ci"] = rated["value"], rated["lower_ci"], rated["upper_ci"]
    notes = []
    for (m, y, d, base) in zip(out["month"], years, out["denominator"],
                               note if note is not None else [None] * len(out)):
        parts = [base] if isinstance(base, str) and base else []
        if y is None or pd.isna(d):
            parts.append(f"no {level.upper()} population on this geography: rate not computed")
        elif int(y) != int(m[:4]):
            parts.append(f"rate uses mid-{int(y)} population (nearest year to {m[:4]} available)")
        notes.append("; ".join(parts) or None)
    out["note"] = notes
    return out[["indicator_id", "area_code", "period_start", "period_end", "period_label", "count",
                "denominator", "value", "lower_ci", "upper_ci", "note"]]


def _rollup(pfa_obs: pd.DataFrame, geo: GeoContext, coverage: pd.DataFrame, level: str) -> pd.DataFrame:
    """Region or E&W totals from forces whose file is complete for the month; which forces are
    left out is said in the note and the population is that of the forces included."""
    links = geo.links
    if level == "region":
        parent = links[(links["child_type"] == "pfa") & (links["parent_type"] == "region")]
        pfa_parent = dict(zip(parent["child_code"], parent["parent_code"]))
    else:
        pfa_parent = {c: ENGLAND_AND_WALES for c in geo.codes("pfa")}
    names = dict(zip(geo.areas["area_code"], geo.areas["area_name"]))
    df = pfa_obs.assign(parent=pfa_obs["area_code"].map(pfa_parent)).dropna(subset=["parent"])
    members = pd.Series(pfa_parent).groupby(pd.Series(pfa_parent)).apply(lambda s: set(s.index)).to_dict()
    pop_year = {}
    rows = []
    for (parent, label, ind), g in df.groupby(["parent", "period_label", "indicator_id"]):
        included = set(g["area_code"])
        left_out = sorted(names.get(p, p) for p in members[parent] - included)
        year = int(label[:4])
        denom, used = 0.0, None
        for p in included:
            v, y = geo.population_for(p, year)
            denom += v or 0
            used = y
        pop_year[(parent, label)] = used
        note = (f"sum of {len(included)} of {len(members[parent])} forces with complete files; "
                f"excludes {', '.join(left_out)}" if left_out else None)
        rows.append({"area_code": parent, "month": label, "crime_type": _type_of(ind), "count": g["count"].sum(),
                     "denominator": denom, "pop_year": used, "note_base": note})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    return _with_rates(out, geo, level, note=out["note_base"])


BENCHMARK_COLUMNS = ["indicator_id", "area_code", "figure_level", "period_start", "period_end", "period_label",
                     "period_type", "count", "denominator", "value", "lower_ci", "upper_ci", "basis"]


def like_for_like_benchmarks(level_obs: pd.DataFrame, level: str, area_pfa: dict[str, str],
                             geo: GeoContext) -> pd.DataFrame:
    """Benchmarks for CSP (or LAD) figures that count exactly as those figures do.

    A CSP figure counts only its own force's records placed in it, and only in a month whose
    force file is complete. Its force, region, country and England & Wales benchmarks are
    therefore the sums of the CSP figures themselves (records placed in a CSP of a force with a
    complete month) over those CSPs' population: a CSP with no population (inside a split
    unitary authority) is left out of both. The force's own total (everything it published,
    incl. records with no location or placed outside it) is the benchmark only for force figures.
    `basis` says what each benchmark sums.
    """
    rows = level_obs[level_obs["denominator"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    links = geo.links
    pfa_region = dict(zip(*links.loc[(links["child_type"] == "pfa") & (links["parent_type"] == "region"),
                                     ["child_code", "parent_code"]].T.to_numpy()))
    region_country = dict(zip(*links.loc[(links["child_type"] == "region") & (links["parent_type"] == "country"),
                                         ["child_code", "parent_code"]].T.to_numpy()))
    pfa_country = {p: (WALES if p.startswith("W") else region_country.get(pfa_region.get(p), ENGLAND))
                   for p in set(area_pfa.values()) if isinstance(p, str)}
    rows["pfa"] = rows["area_code"].map(area_pfa)
    names = dict(zip(geo.areas["area_code"], geo.areas["area_name"]))
    noun = {"csp": "CSPs", "lad": "local authorities"}[level]
    out = []
    parents = {"pfa": lambda p: p, "region": pfa_region.get, "country": pfa_country.get,
               "national": lambda p: ENGLAND_AND_WALES}
    for kind, parent_of in parents.items():
        df = rows.assign(parent=rows["pfa"].map(lambda p, f=parent_of: f(p) if isinstance(p, str) else None))
        df = df.dropna(subset=["parent"])
        for (parent, label, ind), g in df.groupby(["parent", "period_label", "indicator_id"]):
            members = {p for p in pfa_country if parent_of(p) == parent}
            included = set(g["pfa"])
            left_out = sorted(names.get(p, p) for p in members - included)
            n_areas = g["area_code"].nunique()
            if kind == "pfa":
                basis = (f"like-for-like: records placed in its {n_areas} {noun}, over their population "
                         "(not its records with no location or placed outside it)")
            else:
                basis = (f"like-for-like: records placed in {n_areas} {noun} of {len(included)} forces with a "
                         "complete month, over their population")
                if left_out:
                    basis += "; no complete month or no area population: " + ", ".join(left_out)
            out.append({"indicator_id": ind, "area_code": parent, "figure_level": level,
                        "period_start": g["period_start"].iloc[0], "period_end": g["period_end"].iloc[0],
                        "period_label": label, "period_type": "month", "count": float(g["count"].sum()),
                        "denominator": float(g["denominator"].sum()), "basis": basis})
    bench = pd.DataFrame(out)
    rated = crude_rate_frame(bench, count_col="count", pop_col="denominator")
    bench["value"], bench["lower_ci"], bench["upper_ci"] = rated["value"], rated["lower_ci"], rated["upper_ci"]
    return bench[BENCHMARK_COLUMNS]


def _type_of(indicator_id: str) -> str:
    return {v: k for k, v in CRIME_TYPES.items()}[indicator_id]


def _indicators(source_id: str = "police_uk_street") -> pd.DataFrame:
    """Titles, units, polarity and definitions of the crime types we hold: rows of the indicator
    registry (data/indicators.csv). Drugs and possession of weapons are found mostly by police
    activity (stop and search, patrols): more recorded can mean more police looking, not more
    harm, so the registry gives them polarity 'none' (docs/methods.md, "Comparisons")."""
    return indicator_rows(list(CRIME_TYPES.values()), source_id=source_id)
