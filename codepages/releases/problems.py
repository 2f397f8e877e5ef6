"""The one error type of the release readers: every mistake of a file, all at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in a release file.

    `line` and `column` are 1-based; `column` is where the bad field starts (for a
    spreadsheet: the spreadsheet column, A = 1). `line` is 0 for a problem of the whole
    file or of its configuration, `column` is None when no single column is at fault.
    """

    file: str
    line: int
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ReleaseFileError(Exception):
    """A release file (or several) could not be read; `problems` lists every mistake."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        files = {p.file for p in self.problems}
        head = f"{len(self.problems)} problem(s) in {len(files)} release file(s)"
        return head + "".join(f"\n{p}" for p in self.problems)

    def __reduce__(self) -> tuple[type[ReleaseFileError], tuple[tuple[Problem, ...]]]:
        return (ReleaseFileError, (self.problems,))
