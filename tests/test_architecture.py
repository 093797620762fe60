"""The import direction is one-way (design notes): pages -> app (query module) -> warehouse;
etl -> warehouse. Pages never import etl; etl and methods never import streamlit; methods is
pure (no I/O libraries)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


RULES = [
    (["app", "pages", "dashboard.py"], {"etl"}),
    (["etl"], {"streamlit", "app", "pages", "plotly"}),
    (["methods"], {"streamlit", "app", "pages", "etl", "duckdb", "requests", "plotly"}),
]


@pytest.mark.parametrize("folders,forbidden", RULES, ids=["pages-not-etl", "etl-not-ui", "methods-pure"])
def test_import_direction(folders, forbidden):
    offenders = []
    for folder in folders:
        target = ROOT / folder
        files = [target] if target.is_file() else sorted(target.rglob("*.py"))
        for f in files:
            bad = imported_roots(f) & forbidden
            if bad:
                offenders.append(f"{f.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, offenders


def test_every_doc_the_code_cites_is_in_the_repository():
    """A docstring that cites a file under docs/ must point at a file that exists."""
    import re

    cited: dict[str, set[str]] = {}
    for folder in ("app", "etl", "methods", "pages", "bench", "tests"):
        for f in (ROOT / folder).rglob("*.py"):
            for doc in re.findall(r"\bdocs/[A-Za-z0-9_.-]+\.md\b", f.read_text(encoding="utf-8")):
                cited.setdefault(doc, set()).add(str(f.relative_to(ROOT)))
    for f in ("dashboard.py", "README.md"):
        for doc in re.findall(r"\bdocs/[A-Za-z0-9_.-]+\.md\b", (ROOT / f).read_text(encoding="utf-8")):
            cited.setdefault(doc, set()).add(f)
    assert cited, "the code cites its docs"
    missing = {doc: sorted(where) for doc, where in cited.items() if not (ROOT / doc).is_file()}
    assert not missing, missing
