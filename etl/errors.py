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
        where = [f"source {printable(self.source_id)}" if self.source_id else "",
                 f"file {printable(self.file)}" if self.file else "",
                 f"row {self.row}" if self.row is not None else "",
                 f"column {self.column!r}" if self.column else ""]
        place = ", ".join(w for w in where if w)
        message = printable(self.message, keep_newlines=True)
        return f"{place}: {message}" if place else message

    def located(self, *, source_id: str | None = None, file: str | None = None) -> SourceError:
        """Fill in the source and file when a lower layer did not know them."""
        if source_id and not self.source_id:
            self.source_id = source_id
        if file and not self.file:
            self.file = file
        return self


class RefreshError(Exception):
    """The refresh as a whole could not finish (checks failed, lock held, ...)."""


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control or invisible character written as its escape (`\\x1b`, `\\n`,
    `\\u202e`, ...), like `repr` but without quotes.

    File names and cell values come from outside: an ANSI escape sequence or a carriage return
    in a file name printed raw would recolour or overwrite the terminal line that is meant to
    name the file. Printable characters (including non-ASCII letters) are kept as they are.
    """
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n")
                   else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in str(text))


def one_line(text: object) -> str:
    """A message as one printable line: line breaks between parts become spaces, and any other
    control character is escaped (see `printable`)."""
    return printable(" ".join(part.strip() for part in str(text).splitlines() if part.strip()))
