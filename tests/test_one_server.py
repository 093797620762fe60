"""One way to start a server: every test and benchmark that needs a running streamlit goes through
`bench.server.streamlit_server` (the dashboard's serve.py, or a test's own small script), so they
all start, wait on the health signal and stop it the same way. A grep of the code's syntax finds
any `streamlit run` command line, free-port helper or health poll written again elsewhere."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "bench" / "server.py"
FILES = sorted(p for folder in ("tests", "bench") for p in (ROOT / folder).rglob("*.py"))


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def server_starts(path: Path) -> list[str]:
    """Where `path` builds a `streamlit run` command line, defines a free-port helper or polls
    streamlit's health endpoint (each is part of starting a server)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            if any(a == "streamlit" and b == "run" for a, b in zip(items, items[1:])):
                found.append(f"line {node.lineno}: streamlit run command")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("streamlit run"):
            found.append(f"line {node.lineno}: streamlit run command")
        elif isinstance(node, ast.FunctionDef) and node.name == "free_port":
            found.append(f"line {node.lineno}: free_port defined")
        elif isinstance(node, ast.JoinedStr) and any("_stcore/health" in s for s in _strings(node)):
            found.append(f"line {node.lineno}: health poll")
    return found


def test_the_check_finds_a_server_started_by_hand(tmp_path):
    """The check itself can fail: the old hand-made start in the plotly-text test is found."""
    f = tmp_path / "starts_its_own.py"
    f.write_text('import subprocess, sys\nport = 1\nurl = f"http://127.0.0.1:{port}"\n'
                 'subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py"])\n'
                 'urllib.request.urlopen(f"{url}/_stcore/health")\n', encoding="utf-8")
    assert [s.split(": ")[1] for s in server_starts(f)] == ["streamlit run command", "health poll"]
    assert server_starts(SERVER), "bench/server.py is the one place that starts streamlit"


def test_only_bench_server_starts_streamlit():
    assert SERVER in FILES and len(FILES) > 10
    mine = Path(__file__).resolve()
    offenders = {str(p.relative_to(ROOT)): where for p in FILES
                 if p not in (SERVER, mine) and (where := server_starts(p))}
    assert not offenders, offenders
