"""Bounds on the grammars, JSON schemas and regex patterns a request may carry.

llama.cpp parses GBNF grammars, converts JSON schemas to grammars and
translates their `pattern`s with recursive descent parsers: enough nesting
overflows the stack of the process that runs them, an agent. So nesting is
measured here, without recursion, before anything reaches the engine, on the
balancer (a clear 400) and again on the agent (whatever sent the request).

Each limit is far beyond what a real grammar or schema needs: llama.cpp's own
grammars nest a handful of levels, and schemas generated from code rarely
go past a dozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson

MAX_GBNF_BYTES: Final = 256 * 1024
MAX_GBNF_NESTING: Final = 128
MAX_SCHEMA_BYTES: Final = 1024 * 1024
# JSON containers inside containers: `properties` then a property's schema are two.
MAX_SCHEMA_DEPTH: Final = 128
MAX_PATTERN_CHARS: Final = 4096
MAX_PATTERN_GROUP_DEPTH: Final = 32
MAX_TOOLS: Final = 1024
# Property names, `$ref`s and tool names become grammar rule names through
# std::regex, whose matching recurses once per character.
MAX_NAME_CHARS: Final = 1024


@dataclass(frozen=True, slots=True)
class GrammarTooComplex:
    """Why a grammar, schema or tool list is refused; `message` names the limit."""

    message: str


def gbnf_problem(grammar: str) -> GrammarTooComplex | None:
    size = len(grammar.encode())
    if size > MAX_GBNF_BYTES:
        return GrammarTooComplex(f"the GBNF grammar is {size} bytes, above the limit of {MAX_GBNF_BYTES}")
    depth = _gbnf_nesting(grammar)
    if depth > MAX_GBNF_NESTING:
        return GrammarTooComplex(
            f"the GBNF grammar nests groups {depth} deep, above the limit of {MAX_GBNF_NESTING}"
        )
    return None


def schema_problem(schema: Any, what: str = "the JSON schema") -> GrammarTooComplex | None:
    """`schema`: parsed JSON, or JSON text (as the official client sends it)."""
    if isinstance(schema, str | bytes):
        size = len(schema) if isinstance(schema, bytes) else len(schema.encode())
        if size > MAX_SCHEMA_BYTES:
            return _schema_too_large(what, size)
        try:
            schema = orjson.loads(schema)
        except orjson.JSONDecodeError:
            # Not JSON at all is the schema's own error, reported where it is used.
            return None
        return _shape_problem(schema, what)
    # Measured before serializing: too deep a value would not serialize.
    problem = _shape_problem(schema, what)
    if problem is not None:
        return problem
    try:
        size = len(orjson.dumps(schema))
    except TypeError:
        return None  # not JSON: the schema's own error
    return _schema_too_large(what, size) if size > MAX_SCHEMA_BYTES else None


def _shape_problem(schema: Any, what: str) -> GrammarTooComplex | None:
    depth = 0
    # Iterative: the point is not to recurse on whatever nesting arrives.
    pending: list[tuple[Any, int]] = [(schema, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, Mapping):
            depth = max(depth, level)
            for key, child in value.items():
                if len(key) > MAX_NAME_CHARS:
                    return _name_too_long(f"a property name in {what}", len(key))
                if key == "$ref" and isinstance(child, str) and len(child) > MAX_NAME_CHARS:
                    return _name_too_long(f"a `$ref` in {what}", len(child))
                if key == "pattern" and isinstance(child, str):
                    problem = pattern_problem(child, what)
                    if problem is not None:
                        return problem
                if isinstance(child, Mapping | list):
                    pending.append((child, level + 1))
        elif isinstance(value, list):
            depth = max(depth, level)
            pending.extend((child, level + 1) for child in value if isinstance(child, Mapping | list))
        if depth > MAX_SCHEMA_DEPTH:
            return GrammarTooComplex(
                f"{what} nests more than {MAX_SCHEMA_DEPTH} levels of objects and arrays, the limit"
            )
    return None


def pattern_problem(pattern: str, what: str = "the JSON schema") -> GrammarTooComplex | None:
    if len(pattern) > MAX_PATTERN_CHARS:
        return GrammarTooComplex(
            f"a `pattern` in {what} has {len(pattern)} characters, above the limit of {MAX_PATTERN_CHARS}"
        )
    depth = _pattern_group_depth(pattern)
    if depth > MAX_PATTERN_GROUP_DEPTH:
        return GrammarTooComplex(
            f"a `pattern` in {what} nests groups {depth} deep, above the limit of {MAX_PATTERN_GROUP_DEPTH}"
        )
    return None


def tools_problem(parameter_schemas: Iterable[tuple[str, Any]]) -> GrammarTooComplex | None:
    """`parameter_schemas`: (tool name, parameters schema or None) of each offered tool."""
    count = 0
    total = 0
    for name, schema in parameter_schemas:
        count += 1
        if count > MAX_TOOLS:
            return GrammarTooComplex(f"more than {MAX_TOOLS} tools are offered, the limit")
        if len(name) > MAX_NAME_CHARS:
            return _name_too_long("a tool name", len(name))
        if schema is None:
            continue
        what = f"the parameters of tool {name!r}"
        problem = schema_problem(schema, what)
        if problem is not None:
            return problem
        try:
            total += len(orjson.dumps(schema))
        except TypeError:
            continue  # not JSON: the schema's own error
        if total > MAX_SCHEMA_BYTES:
            return GrammarTooComplex(
                f"the tools' parameter schemas together are over {MAX_SCHEMA_BYTES} bytes, the limit"
            )
    return None


def _name_too_long(what: str, length: int) -> GrammarTooComplex:
    return GrammarTooComplex(f"{what} has {length} characters, above the limit of {MAX_NAME_CHARS}")


def _schema_too_large(what: str, size: int) -> GrammarTooComplex:
    return GrammarTooComplex(f"{what} is {size} bytes, above the limit of {MAX_SCHEMA_BYTES}")


def _gbnf_nesting(grammar: str) -> int:
    """The deepest `(` nesting, outside literals, character classes and comments (as llama.cpp reads them)."""
    return _group_depth(grammar, _skip_in_gbnf)


def _pattern_group_depth(pattern: str) -> int:
    return _group_depth(pattern, _skip_in_pattern)


def _group_depth(text: str, skip: Callable[[str, int], int | None]) -> int:
    """The deepest `(` nesting of `text`; `skip` gives the position after what is not grouping
    (a literal, a class, an escape, a comment) starting at a position, or None."""
    depth = deepest = 0
    position = 0
    end = len(text)
    while position < end:
        after = skip(text, position)
        if after is not None:
            position = after
            continue
        char = text[position]
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(depth - 1, 0)
        position += 1
    return deepest


def _skip_in_gbnf(grammar: str, position: int) -> int | None:
    char = grammar[position]
    if char == "#":
        newline = grammar.find("\n", position)
        return len(grammar) if newline < 0 else newline + 1
    if char in '"[':
        return _skip_quoted(grammar, position + 1, '"' if char == '"' else "]")
    return None


def _skip_in_pattern(pattern: str, position: int) -> int | None:
    char = pattern[position]
    if char == "\\":
        return position + 2
    if char != "[":
        return None
    # A class's first `]` is literal when it comes first (`[]a]`, `[^]a]`).
    position += 1
    end = len(pattern)
    if position < end and pattern[position] == "^":
        position += 1
    if position < end and pattern[position] == "]":
        position += 1
    return _skip_quoted(pattern, position, "]")


def _skip_quoted(text: str, position: int, closing: str) -> int:
    """The position after the closing character, backslash escapes skipped."""
    end = len(text)
    while position < end:
        char = text[position]
        if char == "\\":
            position += 2
            continue
        position += 1
        if char == closing:
            return position
    return end


def constraint_problem(grammar: Any, tools: Iterable[Any] = ()) -> GrammarTooComplex | None:
    """Checks a request's `grammar` and `tools`, as parsed protocol types or as their JSON form."""
    if grammar is not None:
        if not isinstance(grammar, Mapping):
            grammar = grammar.model_dump(by_alias=True)
        kind = grammar.get("type")
        if kind == "gbnf" and isinstance(grammar.get("grammar"), str):
            problem = gbnf_problem(grammar["grammar"])
            if problem is not None:
                return problem
        elif kind == "json_schema":
            problem = schema_problem(grammar.get("schema"))
            if problem is not None:
                return problem
    return tools_problem(_tool_schemas(tools))


def _tool_schemas(tools: Iterable[Any]) -> Iterable[tuple[str, Any]]:
    for tool in tools:
        if not isinstance(tool, Mapping):
            tool = tool.model_dump()
        function = tool.get("function")
        if isinstance(function, Mapping):
            yield str(function.get("name")), function.get("parameters")
