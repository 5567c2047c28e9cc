"""Checks tool definitions and the calls a model made against their JSON schemas.

The native engine parses the calls out of the output (with the chat format's
own parser); whether their arguments are what the tool asked for is checked
here, with a full JSON Schema validator.

Schemas come from clients, so the validator never retrieves anything: a
`$ref` resolves within the schema (or to a JSON Schema metaschema) or the
schema is refused before generation. And a `pattern` is matched with a time
budget, so that a pattern built to backtrack forever costs one request a
fraction of a second, not a thread for good. These functions block: the
engine calls them off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import jsonschema
import jsonschema_specifications
import orjson
import regex
from jsonschema.protocols import Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012, specification_with

from paddler.agent.generation_event import ParsedToolCall

Tool = Mapping[str, Any]

# Far more than a real pattern needs on a tool argument.
_PATTERN_TIMEOUT_S: Final = 0.25
# The metaschemas, and nothing from the network or the file system.
_REGISTRY: Final[Registry[Any]] = jsonschema_specifications.REGISTRY
_ROOT_URI: Final = "urn:paddler:tool-parameters"


def _search(pattern: str, text: str) -> bool:
    try:
        return regex.search(pattern, text, timeout=_PATTERN_TIMEOUT_S) is not None
    except TimeoutError as error:
        raise jsonschema.ValidationError(
            f"matching {pattern!r} took over {_PATTERN_TIMEOUT_S:g} s; the pattern is refused"
        ) from error
    except regex.error as error:
        raise jsonschema.ValidationError(f"{pattern!r} is not a valid pattern: {error}") from error


def _pattern(validator: Validator, pattern: str, instance: Any, _schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    # jsonschema's Validator protocol does not declare `descend`, which every validator has.
    validator: Any,
    patterns: Mapping[str, Any],
    instance: Any,
    _schema: Any,
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _validator(schema: Any) -> Validator:
    base = jsonschema.validators.validator_for(schema)
    extended = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, {"pattern": _pattern, "patternProperties": _pattern_properties}
    )
    validator: Validator = extended(schema, registry=_REGISTRY)
    return validator


def _references(schema: Any) -> Iterator[str]:
    pending = [schema]
    while pending:
        value = pending.pop()
        if isinstance(value, Mapping):
            reference = value.get("$ref")
            if isinstance(reference, str):
                yield reference
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def _unresolvable(schema: Any) -> str | None:
    """The first `$ref` that does not resolve without retrieving anything, or None."""
    if not isinstance(schema, Mapping):
        return None
    resource = specification_with(schema.get("$schema", ""), default=DRAFT202012).create_resource(schema)
    resolver = _REGISTRY.with_resource(_ROOT_URI, resource).crawl().resolver(base_uri=_ROOT_URI)
    for reference in _references(schema):
        try:
            resolver.lookup(reference)
        except Unresolvable:
            return reference
    return None


def tool_parameters(tool: Tool) -> tuple[str, Any]:
    """The name and parameters schema of an OpenAI function tool; ValueError if malformed."""
    if tool.get("type") != "function" or not isinstance(tool.get("function"), Mapping):
        raise ValueError('a tool must be {"type": "function", "function": {...}}')
    function = tool["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a tool function needs a non-empty name")
    return name, function.get("parameters", {"type": "object"})


def schema_problems(tools: Sequence[Tool]) -> list[str]:
    problems: list[str] = []
    for tool in tools:
        try:
            name, schema = tool_parameters(tool)
        except ValueError as error:
            problems.append(str(error))
            continue
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as error:
            problems.append(f"tool {name}: invalid parameters schema: {error.message}")
            continue
        reference = _unresolvable(schema)
        if reference is not None:
            problems.append(
                f"tool {name}: $ref {reference!r} does not resolve within the schema "
                "(nothing is fetched for a $ref)"
            )
    return problems


def validate_calls(
    tools: Sequence[Tool], calls: Sequence[tuple[str, str, str]]
) -> tuple[list[ParsedToolCall], list[str]]:
    """Decodes and validates (id, name, arguments JSON) calls; returns the calls and the problems."""
    schemas = dict(tool_parameters(tool) for tool in tools)
    parsed: list[ParsedToolCall] = []
    problems: list[str] = []
    for call_id, name, arguments_json in calls:
        if name not in schemas:
            problems.append(f"the model called {name!r}, which is not one of the offered tools")
            continue
        try:
            arguments = orjson.loads(arguments_json or "{}")
        except orjson.JSONDecodeError as decode_error:
            problems.append(f"{name}: arguments are not valid JSON: {decode_error}")
            continue
        try:
            found = _validator(schemas[name]).iter_errors(arguments)
            violations = sorted(found, key=lambda e: [str(p) for p in e.absolute_path])
        except jsonschema.ValidationError as refused:
            # A pattern out of its time budget, or not a pattern.
            violations = [refused]
        except Unresolvable as error:
            problems.append(f"{name}: the schema's $ref {error.ref!r} does not resolve")
            continue
        for violation in violations:
            where = "/".join(str(part) for part in violation.absolute_path) or "(arguments)"
            problems.append(f"{name}: {where}: {violation.message}")
        if not violations:
            parsed.append(ParsedToolCall(call_id, name, arguments))
    return parsed, problems
