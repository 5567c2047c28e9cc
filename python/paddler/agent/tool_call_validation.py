"""Checks tool definitions and the calls a model made against their JSON schemas.

The native engine parses the calls out of the output (with the chat format's
own parser); whether their arguments are what the tool asked for is checked
here, with a full JSON Schema validator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import orjson

from paddler.agent.generation_event import ParsedToolCall

Tool = Mapping[str, Any]


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
        validator = jsonschema.validators.validator_for(schemas[name])(schemas[name])
        violations = sorted(validator.iter_errors(arguments), key=lambda e: [str(p) for p in e.absolute_path])
        for violation in violations:
            where = "/".join(str(part) for part in violation.absolute_path) or "(arguments)"
            problems.append(f"{name}: {where}: {violation.message}")
        if not violations:
            parsed.append(ParsedToolCall(call_id, name, arguments))
    return parsed, problems
