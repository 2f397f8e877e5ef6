"""JSON Schema checks whose errors read like advice to an editor, with the line they concern."""
from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jsonschema

from .errors import Problems
from .yamlfile import Document

SCHEMA_DIR = Path(__file__).parent / "schema"
TYPE_NAMES = {"string": "text", "array": "a list", "object": "a mapping of keys", "boolean": "true or false",
              "integer": "a whole number", "number": "a number"}


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def did_you_mean(word: object, choices: Iterable[object]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def field_name(path: Iterable[str | int]) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def check(doc: Document, schema_name: str, path: Path, problems: Problems, what: str = "field") -> bool:
    """Validate `doc` against a schema; add one readable problem per error. True if valid."""
    found = False
    for error in sorted(validator(schema_name).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        found = True
        location = tuple(error.absolute_path)
        name = field_name(location)
        kind = error.validator
        if kind == "required":
            missing = [key for key in error.validator_value if key not in error.instance]
            for key in missing:
                where = f" in '{name}'" if name else ""
                problems.add(path, doc.line_of(location), f"missing required {what} '{key}'{where}")
            continue
        if kind == "additionalProperties":
            known = error.schema.get("properties", {})
            for key in error.instance:
                if key not in known:
                    inside = f" in '{name}'" if name else ""
                    problems.add(path, doc.line_of(location + (key,)),
                                 f"unknown {what} '{key}'{inside}{did_you_mean(key, known)}")
            continue
        if kind == "type":
            types = error.validator_value
            wanted = " or ".join(TYPE_NAMES.get(str(t), str(t)) for t in (types if isinstance(types, list) else [types]))
            hint = " (put the value in quotes)" if wanted == "text" else ""
            message = f"'{name}' must be {wanted}{hint}"
        elif kind == "enum":
            choices = error.validator_value
            message = (f"'{name}' must be one of {', '.join(map(str, choices))}, not '{error.instance}'"
                       f"{did_you_mean(error.instance, choices)}")
        elif kind == "uniqueItems":
            message = f"'{name}' lists the same value twice"
        elif kind in ("minLength", "minItems"):
            message = f"'{name}' must not be empty"
        else:
            description = error.schema.get("description")
            message = f"'{name}' is not valid: {description or error.message}"
        problems.add(path, doc.line_of(location), message)
    return not found
