"""Every parser the manifest names meets the one parser interface, and the refresh calls each the
same way (no parser-specific branch)."""
from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import pytest

from etl import refresh
from etl.manifest import load_manifest
from etl.parsers import (
    CONTEXT_PARSERS,
    DEPENDENCIES,
    Parser,
    call_parser,
    declared_dependencies,
    interface_problems,
    load_parser,
)
from etl.staged import Staged

PUBLICATION_PARSERS = sorted({s.parser for s in load_manifest()} - set(CONTEXT_PARSERS))


def test_the_manifest_names_publication_and_context_parsers():
    names = {s.parser for s in load_manifest()}
    assert set(CONTEXT_PARSERS) <= names
    assert len(PUBLICATION_PARSERS) >= 10


@pytest.mark.parametrize("name", PUBLICATION_PARSERS)
def test_every_registered_parser_conforms(name):
    module = load_parser(name)
    assert isinstance(module, Parser)
    assert interface_problems(module) == []
    assert set(declared_dependencies(module.parse)) <= set(DEPENDENCIES)
    ret = inspect.signature(module.parse).return_annotation
    assert ret in (Staged, "Staged"), f"{name}.parse should be annotated to return Staged, not {ret!r}"


def _module(src: str) -> types.ModuleType:
    m = types.ModuleType("fake_parser")
    exec(src, m.__dict__)  # noqa: S102 - a test's own code
    return m


@pytest.mark.parametrize(("src", "problem"), [
    ("x = 1", "no parse function"),
    ("def parse(paths, source): ...", "expected ['paths', 'source', 'geo']"),
    ("def parse(paths, source, geo, lookups): ...", "'lookups' has no default"),
    ("def parse(paths, source, geo, *, lookups=None): ...", "'lookups', which is not one of"),
    ("def parse(paths, source, geo, **kw): ...", "declare each dependency by name"),
])
def test_a_parser_off_the_interface_is_named(src, problem):
    problems = interface_problems(_module(src))
    assert len(problems) == 1 and problem in problems[0], problems


def test_call_parser_passes_only_what_the_parser_declares():
    plain = _module("def parse(paths, source, geo):\n    return ('plain', paths, source, geo)")
    wants = _module("def parse(paths, source, geo, *, previous=None):\n    return ('wants', previous)")
    available = {"previous": "live-connection"}
    assert call_parser(plain, [Path("a")], "src", "geo", available) == ("plain", [Path("a")], "src", "geo")
    assert call_parser(wants, [], "src", "geo", available) == ("wants", "live-connection")


def test_the_refresh_names_no_parser():
    """No `if src.parser == ...` or `if src.id == '<publication>'` in the refresh path: every
    publication goes through the same steps."""
    tree = ast.parse(inspect.getsource(refresh))
    publication_ids = {s.id for s in load_manifest() if s.parser not in CONTEXT_PARSERS}
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not literals & (set(PUBLICATION_PARSERS) | publication_ids)
