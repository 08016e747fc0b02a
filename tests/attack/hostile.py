"""The hostile-input table: bodies, field values, path and query values an attacker (or a broken
client) sends, and a minimal valid body for any request schema of the OpenAPI document, which the
field values are put into one field at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DEEP = 10_000
OVERSIZED_TEXT = "A" * 100_000


@dataclass(frozen=True)
class RawBody:
    """A whole request body, sent as it is."""

    name: str
    content: bytes
    content_type: str = "application/json"


def _deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


RAW_BODIES = [
    RawBody("empty", b""),
    RawBody("null", b"null"),
    RawBody("list", b"[]"),
    RawBody("number", b"12345"),
    RawBody("string", b'"text"'),
    RawBody("truncated", b'{"a": '),
    RawBody("deep object", _deep_json(DEEP)),
    RawBody("deep list", b"[" * DEEP + b"]" * DEEP),
    RawBody("NUL bytes", b"\x00" * 64),
    RawBody("not UTF-8", b'{"a": "\xff\xfe\xfa"}'),
    RawBody("UTF-8 BOM", b'\xef\xbb\xbf{"a": 1}'),
    RawBody("NaN literal", b'{"a": NaN, "b": Infinity}'),
    RawBody("huge number literal", b'{"a": 1' + b"0" * 5000 + b"}"),
    RawBody("form encoded", b"a=1&b=2", "application/x-www-form-urlencoded"),
    RawBody("plain text", b"hello", "text/plain"),
    RawBody("oversized", b'{"a": "' + b"A" * 2_000_000 + b'"}'),
]

# Put in each field of an otherwise valid body, one field at a time.
FIELD_VALUES: list[tuple[str, Any]] = [
    ("NUL in text", "abc\x00def"),
    ("only NUL", "\x00"),
    ("lone surrogate", "\ud800"),
    ("RTL override", "\u202eevil\u202c"),
    ("zero-width", "\u200b\u200d\ufeff"),
    ("astral emoji", "\U0001f4b8" * 50),
    ("oversized text", OVERSIZED_TEXT),
    ("empty text", ""),
    ("blank text", "   \t\n "),
    ("BIGINT+1", 2**63),
    ("BIGINT-1 negative", -(2**63) - 1),
    ("INTEGER+1", 2**31),
    ("googol", 10**100),
    ("negative", -1),
    ("zero", 0),
    ("float", 1.5),
    ("huge float", 1e308),
    ("negative zero", -0.0),
    ("true", True),
    ("false", False),
    ("numeric text", "1"),
    ("arabic digits", "\u0661\u0662\u0663"),
    ("null", None),
    ("empty list", []),
    ("list of junk", [None, 1, "a", {}]),
    ("object", {"$gt": ""}),
    ("deep value", json.loads("[" * 50 + "]" * 50)),
    ("bad date", "2026-13-45T25:61:61Z"),
    ("year 9999", "9999-12-31T23:59:59Z"),
    ("year 1", "0001-01-01T00:00:00Z"),
    ("SQL", "'; DROP TABLE users; --"),
    ("HTML", "<script>alert(1)</script><b>"),
    ("path traversal", "../../etc/passwd"),
    ("URL with NUL", "https://example.com/\x00"),
]

PATH_VALUES: list[tuple[str, str]] = [
    ("BIGINT+1", str(2**63)),
    ("googol", "1" + "0" * 100),
    ("negative", "-1"),
    ("zero", "0"),
    ("float", "1.5"),
    ("text", "abc"),
    ("NUL", "%00"),
    ("encoded slash", "..%2F..%2Fetc"),
    ("oversized", "A" * 5000),
    ("unicode", "%E2%80%AE"),
]


def example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """The smallest body the schema accepts, as far as a generic guess goes: required fields
    with a plausible value."""
    schema = _resolve(schema, components)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [_resolve(option, components) for option in schema[combinator]]
            usable = [option for option in options if option.get("type") != "null"]
            return example((usable or options)[0], components)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: example(properties[name], components)
            for name in schema.get("required", [])
            if name in properties
        }
    if kind == "array":
        return [example(schema.get("items", {}), components)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.0, schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if kind == "string":
        return _example_text(schema)
    return "x"


def _example_text(schema: dict[str, Any]) -> str:
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00Z"
    if schema.get("format") in ("uri", "url"):
        return "https://example.com/"
    return "x" * max(1, schema.get("minLength", 1))


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def body_variants(base: Any, property_names: list[str]) -> Iterator[tuple[str, bytes]]:
    """Each hostile field value in each property of `base` (and as an unknown extra field)."""
    for name in [*property_names, "unexpected_field"]:
        for label, value in FIELD_VALUES:
            variant = dict(base) if isinstance(base, dict) else {}
            variant[name] = value
            yield f"{name}={label}", json.dumps(variant).encode()
