"""Content problems, reported to editors as `path:line:col: message`."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    col: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" + (f":{self.col}" if self.col else "")
        return f"{where}: {self.message}"


@dataclass
class Problems:
    """Collects every content problem of a run, so an editor sees all of them at once."""

    root: Path = field(default_factory=Path.cwd)
    items: list[Problem] = field(default_factory=list)

    def add(self, path: Path | str, line: int, message: str, col: int | None = None) -> None:
        self.items.append(Problem(self.display(path), max(line, 1), col, message))

    def display(self, path: Path | str) -> str:
        path = Path(path)
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def sorted(self) -> list[Problem]:
        return sorted(set(self.items))


class ContentError(Exception):
    """Raised when a run found content problems; carries all of them."""

    def __init__(self, problems: Problems):
        super().__init__(f"{len(problems)} content problem(s)")
        self.problems = problems


class SetupError(Exception):
    """Something the operator must set up (a secret, a tool); the message says what and how."""
