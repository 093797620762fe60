"""Synthetic stand-in files, generated once per generator version and geography.

`python -m etl.synthetic.cache JOB` is how the refresh runs generation in a second process
while it parses the real files: a plain subprocess with its job in a pickle file, not a
multiprocessing pool, because a pool's 'spawn' start method re-runs the parent's `__main__`
(under Streamlit's AppTest or pytest that can be a page script) in the child.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
from pathlib import Path

from etl import checksums
from etl.geocontext import GeoContext
from etl.synthetic import generate


def cached_or_generate(name: str, source_id: str, geo: GeoContext, key: str, generated_dir: Path,
                       say=print) -> list[Path]:
    """Files for `name` under generated_dir/source_id, reused when `key` (generator, code version,
    geography) matches the stamp left by the run that wrote them; the output is deterministic, so
    reuse is exact. Generation goes to a private folder renamed into place, so a generator left
    running by a killed refresh never mixes its files with another run's."""
    out = generated_dir / source_id
    stamp, listing = out / ".generated-by", out / ".files"
    if stamp.exists() and stamp.read_text() == key and listing.exists():
        paths = [out / n for n in listing.read_text().splitlines() if n]
        if all(p.exists() for p in paths):
            say(f"{source_id}: no real file; using synthetic data generated earlier ({name})")
            return paths
    say(f"{source_id}: no real file; generating synthetic data ({name})")
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    written = generate(name, geo, tmp)
    (tmp / ".files").write_text("\n".join(p.name for p in written))
    (tmp / ".generated-by").write_text(key)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return [out / p.name for p in written]


def main(job_path: str) -> int:
    """Run a job written by the refresh: {'geo', 'generated_dir', 'jobs': [(name, source_id, key)]}
    and write {'paths': {source_id: [paths]}, 'sha256': [[file identity, digest], ...]} as JSON
    beside it: the digests the sidecars were written with, so the refresh does not hash the
    files again (`etl.checksums`)."""
    job = pickle.loads(Path(job_path).read_bytes())
    result = {}
    with checksums.one_run():
        for name, source_id, key in job["jobs"]:
            paths = cached_or_generate(name, source_id, job["geo"], key, Path(job["generated_dir"]),
                                       say=lambda text: print(text, file=sys.stderr, flush=True) if not job["quiet"] else None)
            result[source_id] = [str(p) for p in paths]
        digests = checksums.known()
    Path(job_path).with_suffix(".json").write_text(json.dumps({"paths": result, "sha256": digests}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
