"""One error type for every bad input, so the refresh can always say where the problem is.

A data officer reading the refresh output needs the source, the file, the row and the column,
not a stack trace. Parsers raise `SourceError`; the CLI prints `str(err)` and exits non-zero.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SourceError(Exception):
    """A problem with one published file, located as precisely as the parser can."""

    message: str
    source_id: str = ""
    file: str = ""
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [f"source {self.source_id}" if self.source_id else "",
                 f"file {self.file}" if self.file else "",
                 f"row {self.row}" if self.row is not None else "",
                 f"column {self.column!r}" if self.column else ""]
        place = ", ".join(w for w in where if w)
        return f"{place}: {self.message}" if place else self.message

    def located(self, *, source_id: str | None = None, file: str | None = None) -> SourceError:
        """Fill in the source and file when a lower layer did not know them."""
        if source_id and not self.source_id:
            self.source_id = source_id
        if file and not self.file:
            self.file = file
        return self


class RefreshError(Exception):
    """The refresh as a whole could not finish (checks failed, lock held, ...)."""
