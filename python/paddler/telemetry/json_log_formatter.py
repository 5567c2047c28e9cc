"""One JSON object per log line, with the request's trace fields when the line has them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

# Passed with `extra=` by the code that logs a request; copied into the line as they are.
REQUEST_FIELDS = ("trace_id", "span_id", "parent_span_id", "request_id", "agent_id", "outcome", "tokens")


class JsonLogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in REQUEST_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = value
        duration_ms = record.__dict__.get("duration_ms")
        if duration_ms is not None:
            line["duration_ms"] = round(duration_ms, 3)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()
