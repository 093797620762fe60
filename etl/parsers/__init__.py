"""One parser module per publication, all with the same interface (`Parser`).

A parser takes the files located for its source and returns a `Staged` bundle (observations,
indicators, extra tidy tables and the lineage of every file read), raising
`etl.errors.SourceError` (naming file, row and column) on bad input. Parsers never write
anything: the build step owns the warehouse.

What a parser needs besides its own files is declared, never looked up: geography and
population (and the LAD -> CSP lookups) come in the `GeoContext`; anything more is a
keyword-only parameter named in `DEPENDENCIES`, which the refresh passes to every parser that
declares it, the same way for all. The refresh therefore has no parser-specific branch.

The geography and population sources (`CONTEXT_PARSERS`) are read first, into the
`GeoContext` every other parser receives; they are the context step, not parsers of this kind.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from etl.geocontext import GeoContext
    from etl.manifest import Source
    from etl.staged import Staged

# The parsers that build the context (areas, links, population) rather than a Staged bundle.
CONTEXT_PARSERS = ("geography", "population")

# Optional dependencies a parser may declare as keyword-only parameters of `parse`, and what the
# refresh passes for each. Adding one here is the only way a parser gets more than its files
# and the GeoContext.
DEPENDENCIES = {
    "previous": "a read-only DuckDB connection with the live warehouse attached as `wh`, or None "
                "when there is none: for reusing work on files unchanged since the last build",
}


@runtime_checkable
class Parser(Protocol):
    """A publication parser module: `parse(paths, source, geo, **declared) -> Staged`."""

    def parse(self, paths: list[Path], source: Source, geo: GeoContext, /, **declared: Any) -> Staged: ...


def load_parser(name: str) -> ModuleType:
    """The parser module `etl.parsers.<name>`, checked against the interface."""
    module = import_module(f"etl.parsers.{name}")
    problems = interface_problems(module)
    if problems:
        raise TypeError(f"parser etl.parsers.{name} does not meet the parser interface: {'; '.join(problems)}")
    return module


def declared_dependencies(parse: Callable) -> list[str]:
    """The keyword-only parameters of `parse`: the dependencies it declares."""
    return [p.name for p in inspect.signature(parse).parameters.values() if p.kind is p.KEYWORD_ONLY]


def interface_problems(module: ModuleType) -> list[str]:
    """Why `module` is not a `Parser` (empty when it is): a `parse` taking (paths, source, geo)
    first, every further parameter optional, keyword-only ones named in DEPENDENCIES."""
    parse = getattr(module, "parse", None)
    if not callable(parse):
        return ["no parse function"]
    params = list(inspect.signature(parse).parameters.values())
    problems = []
    names = [p.name for p in params[:3]]
    if names != ["paths", "source", "geo"]:
        problems.append(f"parse's first parameters are {names}, expected ['paths', 'source', 'geo']")
    for p in params[3:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            problems.append(f"parse takes *{p.name}: declare each dependency by name")
        elif p.default is p.empty:
            problems.append(f"parse's parameter {p.name!r} has no default (the refresh passes only declared ones)")
        elif p.kind is p.KEYWORD_ONLY and p.name not in DEPENDENCIES:
            problems.append(f"parse declares {p.name!r}, which is not one of {sorted(DEPENDENCIES)}")
    return problems


def call_parser(module: ModuleType, paths: list[Path], source: Source, geo: GeoContext,
                available: dict[str, Any]) -> Staged:
    """Run one parser with the declared dependencies it asks for, from `available`."""
    wanted = {name: available[name] for name in declared_dependencies(module.parse)}
    return module.parse(paths, source, geo, **wanted)
