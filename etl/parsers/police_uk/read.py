"""Reading police.uk street files: find them (loose, gzipped or in monthly archives), check each
header, and aggregate the records to file x LSOA x crime type in DuckDB, so millions of records
never become Python objects. Every file's totals are checked (months, crime types, LSOA codes)
and a file DuckDB cannot read is diagnosed to its row and column with the csv module."""
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
import pandas as pd
import pandera.pandas as pa

from etl.checksums import sha256_file, sha256_stream
from etl.errors import SourceError
from etl.periods import EARLIEST, implausible_period
from etl.periods import month as parse_month

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
LSOA_RE = "'(E01|W01)[0-9]{6}'"  # an LSOA code, as a DuckDB regexp literal
# Files per query: bounds memory whatever the number of files (the mirror's 318 in one query
# peaked at ~0.41 GiB, 48 at ~0.34 GiB) and, being larger than a month of forces, saves ~0.15
# CPU-s over 48 on the mirror (fewer queries, fewer hand-overs; bench/README.md).
BATCH_FILES = 320


def aggregate_files(files: list[tuple[StreetFile, Path]], con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(lsoa_counts, file_totals) for the given files, read by DuckDB in batches of files.

    lsoa_counts: file_key, lsoa_code, lsoa_name, crime_type, n (the four crime types only);
    file_totals: file_key, rows, rows_selected, rows_no_lsoa, months, bad_type, bad_lsoa.
    Batching keeps memory flat as months accumulate (a UNION ALL of one `read_csv` per file over
    thousands of files reserved buffers per file and ran out of memory at 10x the mirror). Each
    batch is ONE `read_csv` over its file list, with the schema given and sniffing off (`auto_detect=false`; the layout is
    checked by `check_header`): about 8% less CPU than a UNION ALL of one `read_csv` per file
    (bench/README.md). Sniffing must stay off: DuckDB 2.0 given a file list with auto-detection
    on silently skipped whole files (42 of the mirror's 318; `_validate_totals` refuses a file
    with no rows, and tests/etl/test_police_uk_real.py checks every file's rows).
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
    with tempfile.TemporaryDirectory() as tmp:
        paths = [_literal_path(local, Path(tmp) / f"{i}.csv{'.gz' if local.suffix == '.gz' else ''}")
                 for i, (_f, local) in enumerate(files)]
        selected = ", ".join(_sql_str(t) for t in CRIME_TYPES)
        known = ", ".join(_sql_str(t) for t in KNOWN_TYPES)
        # `file_index`: the file's place in the list given, so records are keyed by an integer.
        # Only the four kept crime types are grouped by LSOA code and name; the other records
        # (64% on the mirror) are grouped by file, month and type alone, keeping just what the
        # totals check: whether the code is empty, and a code that is not an LSOA code (so a bad
        # code in any record is still found). About 1/4 as many groups (255,792 vs 960,537), ~9% less CPU.
        con.execute(f"""CREATE OR REPLACE TEMP TABLE pu_rows_agg AS
            SELECT file_index AS k, "Month" AS month,
                   CASE WHEN "Crime type" IN ({selected}) OR NOT regexp_full_match("LSOA code", {LSOA_RE})
                        THEN "LSOA code" END AS lsoa_code,
                   CASE WHEN "Crime type" IN ({selected}) THEN "LSOA name" END AS lsoa_name,
                   "LSOA code" IS NULL AS no_lsoa, "Crime type" AS crime_type, count(*) AS n,
                   count("Crime ID") AS with_id, count("Crime ID") - count(DISTINCT "Crime ID") AS dup_ids
            FROM read_csv($files, columns=$cols, header=true, delim=',', quote='"', escape='"', strict_mode=true,
                          auto_detect=false)
            GROUP BY ALL""", {"files": paths, "cols": cols})
    # Through Arrow: the same frame (same dtypes) as `.df()` at ~1/4 of its CPU for 250k rows.
    counts = con.sql(f"SELECT k, lsoa_code, lsoa_name, crime_type, n FROM pu_rows_agg "
                     f"WHERE crime_type IN ({selected})").to_arrow_table().to_pandas()
    totals = _totals(con, selected, known)
    con.execute("DROP TABLE pu_rows_agg")
    if len(totals) and int(totals["k"].max()) >= len(files):  # more files read than given: never silently
        raise RuntimeError(f"DuckDB read more files than the {len(files)} it was given")
    keys = {i: f"{f.month}/{f.force}" for i, (f, _) in enumerate(files)}
    counts["file_key"] = counts.pop("k").map(keys)
    totals["file_key"] = totals.pop("k").map(keys)
    return counts, totals


def _literal_path(local: Path, alias: Path) -> str:
    """`local` as DuckDB must be given it: a path holding a glob character (`*?[]{}`, e.g. in a
    folder name) would be expanded to other files, so it is read through a symlink `alias`."""
    text = str(local)
    if not any(c in text for c in "*?[]{}"):
        return text
    alias.symlink_to(local.resolve())
    return str(alias)


def _totals(con: duckdb.DuckDBPyConnection, selected: str, known: str) -> pd.DataFrame:
    return con.execute(f"""
        SELECT k, sum(n)::BIGINT AS rows,
               coalesce(sum(n) FILTER (WHERE crime_type IN ({selected})), 0)::BIGINT AS rows_selected,
               coalesce(sum(n) FILTER (WHERE no_lsoa), 0)::BIGINT AS rows_no_lsoa,
               sum(with_id)::BIGINT AS with_id, sum(dup_ids)::BIGINT AS dup_ids,
               list_distinct(list(month)) AS months,
               any_value(crime_type) FILTER (WHERE crime_type IS NULL OR crime_type NOT IN ({known})) AS bad_type,
               any_value(lsoa_code) FILTER (WHERE lsoa_code IS NOT NULL
                   AND NOT regexp_full_match(lsoa_code, {LSOA_RE})) AS bad_lsoa
        FROM pu_rows_agg GROUP BY k""").df()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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


# A record repeating an earlier record of its file (same Crime ID, LSOA and crime type): police.uk
# files carry some (at most 5.0% of records with a Crime ID in any file of the mirror, Humberside
# 2024-03); a share this high is a file repeated or concatenated onto itself, which would count
# every crime twice without any other check noticing (a doubled month is not 5x the usual).
MAX_REPEATED_SHARE = 0.2


def _first_repeated_id(local: Path) -> int | None:
    """Row number of the first record whose Crime ID an earlier record of the file already had."""
    idx = HEADER.index("Crime ID")
    seen: set[str] = set()
    with _open_text(local) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row_no, rec in enumerate(reader, start=2):
            if len(rec) > idx and rec[idx]:
                if rec[idx] in seen:
                    return row_no
                seen.add(rec[idx])
    return None


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
        if r.with_id and r.dup_ids / r.with_id > MAX_REPEATED_SHARE:
            raise SourceError(f"{r.dup_ids:,} of the {r.with_id:,} records with a Crime ID repeat an earlier "
                              f"record's Crime ID, LSOA and crime type ({r.dup_ids / r.with_id:.0%}; police.uk "
                              f"files repeat at most a few per cent): the file looks repeated or concatenated "
                              f"onto itself, and every crime would be counted twice", source_id=source_id,
                              file=f.name, row=_first_repeated_id(local), column="Crime ID")
        if r.bad_type is not None and not pd.isna(r.bad_type):
            raise SourceError(f"unknown crime type {r.bad_type!r}", source_id=source_id, file=f.name,
                              row=_locate_value(f, local, "Crime type", r.bad_type), column="Crime type")
        if r.bad_lsoa is not None and not pd.isna(r.bad_lsoa):
            raise SourceError(f"{r.bad_lsoa!r} is not an LSOA code (E01/W01 + 6 digits)", source_id=source_id,
                              file=f.name, row=_locate_value(f, local, "LSOA code", r.bad_lsoa), column="LSOA code")
