import logging

import orjson

from paddler.telemetry.json_log_formatter import JsonLogFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("paddler.balancer", logging.INFO, __file__, 1, "request %s", ("ok",), None)
    record.__dict__.update(extra)
    return record


def test_a_request_line_is_one_json_object_with_its_trace_fields() -> None:
    line = JsonLogFormatter().format(
        _record(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="00f067aa0ba902b7", duration_ms=12.34567)
    )

    fields = orjson.loads(line)
    assert fields["message"] == "request ok"
    assert fields["level"] == "INFO"
    assert fields["logger"] == "paddler.balancer"
    assert fields["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert fields["span_id"] == "00f067aa0ba902b7"
    assert fields["duration_ms"] == 12.346


def test_a_line_without_trace_fields_has_none_of_them() -> None:
    fields = orjson.loads(JsonLogFormatter().format(_record()))

    assert "trace_id" not in fields
    assert set(fields) == {"time", "level", "logger", "message"}
