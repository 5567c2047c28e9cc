import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from paddler.agent import tool_call_validation


def tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "lookup", "parameters": parameters}}


class RecordingServer:
    def __init__(self) -> None:
        self.requests: list[str] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorded.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"type": "string"}')

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/schema.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def schema_host() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_remote_ref_is_a_schema_problem_and_nothing_is_fetched(schema_host: RecordingServer) -> None:
    schema = {"type": "object", "properties": {"a": {"not": {"$ref": schema_host.url}}}}

    problems = tool_call_validation.schema_problems([tool(schema)])

    assert problems == [
        f"tool lookup: $ref {schema_host.url!r} does not resolve within the schema "
        "(nothing is fetched for a $ref)"
    ]
    assert schema_host.requests == []


def test_a_file_ref_is_a_schema_problem() -> None:
    schema = {"type": "object", "properties": {"a": {"not": {"$ref": "file:///dev/zero"}}}}

    assert tool_call_validation.schema_problems([tool(schema)]) != []


def test_arguments_are_validated_without_fetching_a_ref_that_slipped_through(
    schema_host: RecordingServer,
) -> None:
    schema = {"type": "object", "properties": {"a": {"not": {"$ref": schema_host.url}}}}

    parsed, problems = tool_call_validation.validate_calls([tool(schema)], [("1", "lookup", '{"a": "x"}')])

    assert parsed == []
    assert len(problems) == 1
    assert "does not resolve" in problems[0]
    assert schema_host.requests == []


def test_local_refs_and_metaschema_refs_resolve() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"city": {"type": "string", "minLength": 1}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/city"}},
    }

    assert tool_call_validation.schema_problems([tool(schema)]) == []
    parsed, problems = tool_call_validation.validate_calls([tool(schema)], [("1", "lookup", '{"a": ""}')])
    assert parsed == []
    assert problems == ["lookup: a: '' should be non-empty"]


def test_a_pattern_is_still_enforced_on_arguments() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
    calls = [("1", "lookup", '{"code": "ABC"}'), ("2", "lookup", '{"code": "abc"}')]

    parsed, problems = tool_call_validation.validate_calls([tool(schema)], calls)

    assert [call.id for call in parsed] == ["1"]
    assert problems == ["lookup: code: 'abc' does not match '^[A-Z]{3}$'"]


def test_a_pattern_that_backtracks_without_end_fails_the_call_within_its_time_budget() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(a|a)*$"}}}

    started = time.monotonic()
    parsed, problems = tool_call_validation.validate_calls(
        [tool(schema)], [("1", "lookup", '{"a": "%s"}' % ("a" * 40 + "b"))]
    )

    assert parsed == []
    assert len(problems) == 1
    assert "took over" in problems[0]
    # Bounded by the budget, not by the pattern: an unbounded match would not return at all.
    assert time.monotonic() - started < 5
