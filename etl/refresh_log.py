"""The refresh log beside the warehouse (`refresh-log.jsonl`): one JSON line per refresh run,
whatever its outcome. Why a file and not a table: a failed build never reaches the warehouse,
so the log is the only record of a failure; `etl status` and the Data & sources page read it."""
from __future__ import annotations

import json
from pathlib import Path

REFRESH_LOG = "refresh-log.jsonl"


def last_failed_run(db: Path) -> dict | None:
    """The latest failed refresh logged beside `db`, and whether a later run succeeded."""
    log = db.parent / REFRESH_LOG
    if not log.exists():
        return None
    failed, later_ok = None, False
    with open(log, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash: skip it, keep reading
            if not isinstance(entry, dict):
                continue
            if entry.get("status") == "failed":
                failed, later_ok = entry, False
            elif failed is not None and entry.get("status") in ("built", "unchanged"):
                later_ok = True
    if failed is None:
        return None
    return {"started_at": failed.get("started_at"), "finished_at": failed.get("finished_at"),
            "message": failed.get("message"), "succeeded_since": later_ok}
