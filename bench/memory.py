"""Memory bounds: a 5-million-row ISTV extract and a 3 GB police.uk archive member, each read in
its own child process whose peak RSS is read from the kernel (`os.wait4` rusage, ru_maxrss).

    python -m bench.memory                        # ~5-10 min on 2 cores; target: each under 1 GiB
    python -m bench.memory --rows 500000 --member-gb 0.3   # a quick check

Why: the ISTV reader once held a whole extract in pandas (~2.4 GiB per million rows) and a zip
member was read whole (a 12.5 MB zip holding 3 GB reached 6.4 GiB). The inputs are generated
on the fly into a temporary folder (removed at the end), streamed to disk, never held whole.

Jobs (one child each):
* `istv`: `etl.parsers.istv.parse` over the generated extract (validation, de-duplication,
  counts, observations), i.e. what the refresh does with it.
* `zip-refuse`: `etl.parsers.police_uk.discover` over the archive, as the refresh does: the
  member's declared size is over `MAX_MEMBER_BYTES`, so it is refused without being read.
* `zip-stream`: the same member with the cap raised above its size, so it is hashed and then
  decompressed to disk by `extract_member`, streamed end to end: the worst case of reading it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LIMIT_MIB = 1024
CSPS = [f"E22{n:06d}" for n in range(1, 21)]
MONTHS = [f"{y}-{m:02d}" for y in (2022, 2023) for m in range(1, 13)]


def make_istv(path: Path, rows: int, seed: int = 1) -> int:
    """A valid extract in the project layout with `rows` attendance rows (about 1% exact
    repeats), written 100,000 rows at a time."""
    from etl.parsers.istv import AGE_BANDS, LAYOUT_COLUMNS

    rng = np.random.default_rng(seed)
    methods = np.array(["Knife or sharp object", "Blunt object", "Body part", "Other", "Not known"])
    ages, sexes = np.array(AGE_BANDS), np.array(["male", "female", "unknown"])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(LAYOUT_COLUMNS) + "\n")
        done = 0
        while done < rows:
            n = min(100_000, rows - done)
            csp = rng.integers(0, len(CSPS), n)
            month = rng.integers(0, len(MONTHS), n)
            day = rng.integers(1, 29, n)
            hour, minute = rng.integers(0, 24, n), rng.integers(0, 60, n)
            method, age, sex = rng.integers(0, len(methods), n), rng.integers(0, len(ages), n), rng.integers(0, 3, n)
            lines = []
            for i in range(n):
                mo = MONTHS[month[i]]
                y, m = int(mo[:4]), int(mo[5:])
                end = 31 if m in (1, 3, 5, 7, 8, 10, 12) else 30 if m != 2 else 28
                t = f"{mo}-{day[i]:02d} {hour[i]:02d}:{minute[i]:02d}"
                lines.append(f"{mo}-01,{y}-{m:02d}-{end},RXX{csp[i]:02d},Site {csp[i]},{CSPS[csp[i]]},"
                             f"{t},{t},Street,,{methods[method[i]]},,{ages[age[i]]},{sexes[sex[i]]}\n")
                if i % 100 == 0:  # an overlapping re-sent row
                    lines.append(lines[-1])
            fh.writelines(lines[: n])
            done += n
    return rows


def make_archive(path: Path, member_bytes: int) -> int:
    """A monthly archive whose one street file decompresses to `member_bytes` (deflated,
    written through ZipFile.open(..., 'w') in 1 MiB pieces)."""
    from etl.parsers.police_uk import HEADER

    row = (b"abc,2018-10,Kent Police,Kent Police,0.5,51.2,On or near Street,E01024000,"
           b"Ashford 001A,Violence and sexual offences,Under investigation,\n")
    piece = row * ((1 << 20) // len(row))
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, \
            z.open("2018-10/2018-10-kent-street.csv", "w", force_zip64=True) as out:
        head = (",".join(HEADER) + "\n").encode()
        out.write(head)
        written += len(head)
        while written < member_bytes:
            chunk = piece[: member_bytes - written]
            out.write(chunk)
            written += len(chunk)
    return written


def _geo():
    import pandas as pd

    from etl.geocontext import GeoContext
    areas = pd.DataFrame([(c, f"CSP {c}", "csp") for c in CSPS], columns=["area_code", "area_name", "area_type"])
    areas = areas.assign(valid_from=pd.Timestamp("2021-04-01"), valid_to=pd.NaT, vintage="2021")
    links = pd.DataFrame(columns=["child_code", "parent_code", "child_type", "parent_type", "valid_from",
                                  "valid_to", "vintage"])
    population = pd.DataFrame([(c, 2022, "all", "persons", 150_000.0, "bench") for c in CSPS],
                              columns=["area_code", "year", "age_band", "sex", "persons", "source_id"])
    return GeoContext(areas=areas, links=links, population=population)


def child(job: str, path: Path) -> dict:
    """The measured work, run in the child process."""
    if job == "istv":
        from etl.manifest import source_by_id
        from etl.parsers import istv
        staged = istv.parse([path], source_by_id("istv_ae_assaults"), _geo())
        checks = staged.tables["istv_data_checks"]
        return {"observations": len(staged.observations), "counts": len(staged.tables["istv_counts"]),
                "duplicates_removed": int(checks.loc[checks["check"] == "duplicate_rows_removed", "rows"].sum())}
    from etl.errors import SourceError
    from etl.parsers import police_uk
    if job == "zip-refuse":
        try:
            police_uk.discover([path])
        except SourceError as exc:
            return {"refused": str(exc)}
        return {"refused": None}
    police_uk.MAX_MEMBER_BYTES = 1 << 40
    (f,) = police_uk.discover([path])
    sha = police_uk.file_sha256(f)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        dest = Path(tmp) / "member.csv"
        police_uk.extract_member(f, dest)
        return {"sha256": sha[:12], "extracted_bytes": dest.stat().st_size}


def measure(job: str, path: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.memory", "--child", job, str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {"job": job, "seconds": round(time.perf_counter() - t0, 1),
              "peak_mib": round(usage.ru_maxrss / 1024), "exit": proc.returncode}
    if proc.returncode == 0 and out.strip():
        result.update(json.loads(out.strip().splitlines()[-1]))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--member-gb", type=float, default=3.0)
    ap.add_argument("--only", choices=["istv", "zip"], help="run one of the two inputs")
    ap.add_argument("--child", nargs=2, metavar=("JOB", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="svd-bench-memory-") as tmp:
        if args.only in (None, "istv"):
            extract = Path(tmp) / "istv_5m.csv"
            t0 = time.perf_counter()
            make_istv(extract, args.rows)
            print(f"generated {args.rows:,}-row ISTV extract ({extract.stat().st_size / 2**20:,.0f} MiB) "
                  f"in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            results.append({**measure("istv", extract), "rows": args.rows,
                            "input": f"{args.rows:,} rows, {extract.stat().st_size / 2**20:,.0f} MiB CSV"})
            extract.unlink()
        if args.only == "istv":
            return _report(results)
        archive = Path(tmp) / "2018-10.zip"
        t0 = time.perf_counter()
        size = make_archive(archive, int(args.member_gb * 2**30))
        print(f"generated archive: {archive.stat().st_size / 2**20:,.1f} MiB zip holding {size / 2**30:.2f} GiB "
              f"in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        note = f"{archive.stat().st_size / 2**20:,.1f} MiB zip, member {size / 2**30:.2f} GiB"
        results.append({**measure("zip-refuse", archive), "input": note})
        results.append({**measure("zip-stream", archive), "input": note})
    return _report(results)


def _report(results: list[dict]) -> int:
    print("| Job | Input | Seconds | Peak MiB | Under 1 GiB | Result |")
    print("|---|---|---:|---:|---|---|")
    for r in results:
        detail = {k: v for k, v in r.items() if k not in ("job", "input", "seconds", "peak_mib", "exit", "rows")}
        print(f"| {r['job']} | {r['input']} | {r['seconds']} | {r['peak_mib']:,} | "
              f"{'yes' if r['peak_mib'] < LIMIT_MIB else 'NO'} | exit {r['exit']}; {json.dumps(detail)} |")
    return 0 if all(r["exit"] == 0 and r["peak_mib"] < LIMIT_MIB for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
