"""Reading editors' files: UTF-8 only, with the line and column of a bad byte."""
from __future__ import annotations

from pathlib import Path

from .errors import Problems


def read_text(path: Path, problems: Problems) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(path, 1, "file not found")
        return None
    except OSError as exc:
        problems.add(path, 1, f"cannot read file: {exc.strerror}")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.add(path, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8", col)
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n")
