"""Decoding request bodies into protocol types, with messages a client can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

# Large enough for a long conversation history with inline images.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024

_MAX_REPORTED_PROBLEMS = 4


@dataclass(frozen=True, slots=True)
class InvalidBody:
    """Why a body was refused; `message` names the offending field."""

    message: str


def _location(loc: tuple[int | str, ...]) -> str:
    # A tagged variant repeats its tag as its field: `model.LocalToAgent`, not
    # `model.LocalToAgent.LocalToAgent`.
    parts: list[str] = []
    for part in loc:
        if not parts or parts[-1] != str(part):
            parts.append(str(part))
    return ".".join(parts)


def describe_validation_error(error: ValidationError) -> str:
    problems: list[str] = []
    for detail in error.errors(include_url=False):
        if detail["type"] == "json_invalid":
            return f"malformed JSON: {detail['msg'].removeprefix('Invalid JSON: ')}"
        location = _location(detail["loc"])
        if detail["type"] == "extra_forbidden":
            problems.append(f"unknown field `{location}`")
        elif detail["type"] == "missing":
            problems.append(f"missing field `{location}`")
        elif detail["type"] in ("union_tag_invalid", "union_tag_not_found"):
            expected = detail.get("ctx", {}).get("expected_tags", "")
            problems.append(f"`{location or 'body'}`: unknown or missing variant, expected one of {expected}")
        elif location:
            problems.append(f"`{location}`: {detail['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(detail["msg"].removeprefix("Value error, "))
        if len(problems) == _MAX_REPORTED_PROBLEMS:
            break
    return "; ".join(problems) or "invalid body"


def decode_json(adapter: TypeAdapter[T], raw: bytes | str) -> T | InvalidBody:
    try:
        return adapter.validate_json(raw)
    except ValidationError as error:
        return InvalidBody(describe_validation_error(error))


def decode_python(adapter: TypeAdapter[T], value: Any) -> T | InvalidBody:
    """Validates already parsed JSON (e.g. JSON-RPC params) with the same rules as raw JSON."""
    try:
        # Strict mode takes enum members, not their names, from Python
        # values; through JSON the rules are exactly those of a raw body.
        return adapter.validate_json(orjson.dumps(value))
    except ValidationError as error:
        return InvalidBody(describe_validation_error(error))
    except TypeError as error:
        return InvalidBody(f"not JSON: {error}")
