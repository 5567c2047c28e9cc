import json
from typing import Any

from paddler.protocol.grammar_limits import (
    MAX_GBNF_NESTING,
    MAX_NAME_CHARS,
    MAX_PATTERN_GROUP_DEPTH,
    MAX_SCHEMA_DEPTH,
    GrammarTooComplex,
    constraint_problem,
    gbnf_problem,
    pattern_problem,
    schema_problem,
)

# llama.cpp's JSON grammar (grammars/json.gbnf), a real grammar that must pass.
JSON_GBNF = r"""
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [1-9] [0-9]{0,15})? ws
ws ::= | " " | "\n" [ \t]{0,20}
"""


def nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def test_a_real_grammar_passes() -> None:
    assert gbnf_problem(JSON_GBNF) is None


def test_gbnf_nesting_past_the_limit_is_refused_naming_the_limit() -> None:
    depth = MAX_GBNF_NESTING + 1
    problem = gbnf_problem("root ::= " + "(" * depth + '"a"' + ")" * depth)

    assert isinstance(problem, GrammarTooComplex)
    assert f"nests groups {depth} deep, above the limit of {MAX_GBNF_NESTING}" in problem.message


def test_parentheses_inside_literals_classes_and_comments_are_not_nesting() -> None:
    parentheses = "(" * (MAX_GBNF_NESTING * 2)
    grammar = f'root ::= "{parentheses}" [{parentheses}] # {parentheses}\n'

    assert gbnf_problem(grammar) is None


def test_a_schema_nested_past_the_limit_is_refused() -> None:
    problem = schema_problem(nested_schema(MAX_SCHEMA_DEPTH))

    assert isinstance(problem, GrammarTooComplex)
    assert f"more than {MAX_SCHEMA_DEPTH} levels" in problem.message


def test_a_schema_sent_as_json_text_is_measured_the_same() -> None:
    # json, not orjson: orjson refuses to write this deep a value.
    assert schema_problem(json.dumps(nested_schema(MAX_SCHEMA_DEPTH))) is not None
    assert schema_problem(json.dumps(nested_schema(10))) is None


def test_a_pattern_with_deep_groups_anywhere_in_a_schema_is_refused() -> None:
    depth = MAX_PATTERN_GROUP_DEPTH + 1
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "(" * depth + ")" * depth}}}

    problem = schema_problem(schema)

    assert isinstance(problem, GrammarTooComplex)
    assert f"nests groups {depth} deep" in problem.message


def test_escaped_parentheses_and_classes_in_a_pattern_are_not_groups() -> None:
    pattern = r"\(" * 100 + "[(((]" * 100 + r"^\d{3}-(\d{4})$"

    assert pattern_problem(pattern) is None


def test_a_long_property_name_is_refused() -> None:
    schema = {"type": "object", "properties": {"!" * (MAX_NAME_CHARS + 1): {"type": "string"}}}

    problem = schema_problem(schema)

    assert isinstance(problem, GrammarTooComplex)
    assert "a property name" in problem.message


def test_tool_parameters_are_checked_as_schemas() -> None:
    tools = [
        {"type": "function", "function": {"name": "deep", "parameters": nested_schema(MAX_SCHEMA_DEPTH)}}
    ]

    problem = constraint_problem(None, tools)

    assert isinstance(problem, GrammarTooComplex)
    assert "tool 'deep'" in problem.message


def test_an_ordinary_request_constraint_passes() -> None:
    grammar = {"type": "json_schema", "schema": nested_schema(5)}
    tools = [{"type": "function", "function": {"name": "f", "parameters": nested_schema(3)}}]

    assert constraint_problem(grammar, tools) is None
