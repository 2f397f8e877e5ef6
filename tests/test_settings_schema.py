"""Issue 10: the typed settings (codepages/settings.py) mirror the schema editors' IDEs use
(codepages/schema/site.schema.json), walked side by side: every schema property has a field
and every field a property, a required property is a field without a default, and the value
types agree. Fields marked `metadata={"schema": "raw"}` (a block another reader checks with its
own schema) are matched by name only; fields marked `{"schema": False}` are not settings."""
from __future__ import annotations

import dataclasses
import functools
import json
import operator
import types
import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from codepages import settings as settings_module
from codepages.settings import Settings

SCHEMA_DIR = Path(settings_module.__file__).resolve().parent / "schema"
SCHEMA = json.loads((SCHEMA_DIR / "site.schema.json").read_text(encoding="utf-8"))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/$defs/"), f"a field walked here refers to another file: {ref}"
    return resolve(SCHEMA["$defs"][ref.removeprefix("#/$defs/")])


def optional(kind: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return functools.reduce(operator.or_, args), len(args) < len(typing.get_args(kind))
    return kind, False


def has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number"}


def compare(kind: Any, node: dict[str, Any], where: str, problems: list[str]) -> None:
    node = resolve(node)
    kind, _ = optional(kind)
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        compare_object(kind, node, where, problems)
    elif origin is list:
        if node.get("type") != "array":
            problems.append(f"{where}: a list in settings.py, {node.get('type')} in the schema")
            return
        compare(typing.get_args(kind)[0], node["items"], where + "[]", problems)
    elif origin is dict:
        if node.get("type") != "object":
            problems.append(f"{where}: a dict in settings.py, {node.get('type')} in the schema")
            return
        value = typing.get_args(kind)[1]
        for name, child in node.get("properties", {}).items():
            compare(value, child, f"{where}.{name}", problems)
    elif origin is Literal:
        if set(typing.get_args(kind)) != set(node.get("enum", [])):
            problems.append(f"{where}: {sorted(typing.get_args(kind))} in settings.py, {node.get('enum')} in the schema")
    elif origin in (typing.Union, types.UnionType):
        wanted = sorted(JSON_TYPES[a] for a in typing.get_args(kind))
        given = node.get("type")
        if sorted(given if isinstance(given, list) else [given]) != wanted:
            problems.append(f"{where}: {wanted} in settings.py, {given} in the schema")
    elif kind is str and "enum" in node:
        if not all(isinstance(v, str) for v in node["enum"]):  # text, its values checked by the schema
            problems.append(f"{where}: text in settings.py, {node['enum']} in the schema")
    elif kind in JSON_TYPES:
        if node.get("type") != JSON_TYPES[kind]:
            problems.append(f"{where}: {JSON_TYPES[kind]} in settings.py, {node.get('type')} in the schema")
    else:
        problems.append(f"{where}: settings.py type {kind!r} has no schema counterpart this test knows")


def compare_object(cls: type, node: dict[str, Any], where: str, problems: list[str]) -> None:
    node = resolve(node)
    properties = node.get("properties", {})
    required = set(node.get("required", []))
    hints = typing.get_type_hints(cls, include_extras=False)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    settings_fields = {n: f for n, f in fields.items() if f.metadata.get("schema", True) is not False}
    for name in properties.keys() - settings_fields.keys():
        problems.append(f"{where}.{name}: in the schema, no field in {cls.__name__}")
    for name in settings_fields.keys() - properties.keys():
        if fields[name].metadata.get("schema") == "raw":
            continue  # a block read by another reader, absent from some code sets' schema
        problems.append(f"{where}.{name}: field of {cls.__name__}, not in the schema")
    for name in settings_fields.keys() & properties.keys():
        f = settings_fields[name]
        if (name in required) == has_default(f):
            problems.append(f"{where}.{name}: {'required' if name in required else 'optional'} in the schema, "
                            f"{'with' if has_default(f) else 'without'} a default in {cls.__name__}")
        if f.metadata.get("schema") == "raw":
            continue
        compare(hints[name], properties[name], f"{where}.{name}", problems)
    if node.get("additionalProperties", True) is not False:
        problems.append(f"{where}: the schema allows unknown keys, the dataclass cannot hold them")


def test_settings_dataclasses_mirror_the_schema():
    problems: list[str] = []
    compare_object(Settings, SCHEMA, "site", problems)
    assert problems == []


def test_each_code_set_of_the_schema_maps_to_the_code_set_settings():
    # code_sets is a dict in settings.py, an object with one property per code set in the schema
    assert set(SCHEMA["properties"]["code_sets"]["properties"]) == {"cpt", "hcpcs", "icd-10-cm"}
    assert set(SCHEMA["properties"]["code_sets"]["required"]) == {"cpt", "hcpcs", "icd-10-cm"}


# --- the walk notices drift (so a green run means something) --------------------------------

@dataclasses.dataclass(frozen=True)
class Drifted:
    name: str
    extra: int = 0  # not in the schema
    title: str = ""  # required in the schema, but has a default


def test_the_walk_reports_a_field_the_schema_lacks_and_a_required_field_with_a_default():
    node = {"type": "object", "additionalProperties": False, "required": ["name", "title"],
            "properties": {"name": {"type": "string"}, "title": {"type": "string"}, "colour": {"type": "string"}}}
    problems: list[str] = []
    compare_object(Drifted, node, "x", problems)
    assert sorted(problems) == [
        "x.colour: in the schema, no field in Drifted",
        "x.extra: field of Drifted, not in the schema",
        "x.title: required in the schema, with a default in Drifted",
    ]


@pytest.mark.parametrize("kind, node", [
    (int, {"type": "string"}), (list[str], {"type": "object"}),
    (Literal["a", "b"], {"enum": ["a", "c"]}), (str | bool | None, {"type": ["string", "integer"]})])
def test_the_walk_reports_a_type_that_differs(kind, node):
    problems: list[str] = []
    compare(kind, node, "x", problems)
    assert len(problems) == 1 and problems[0].startswith("x:")
