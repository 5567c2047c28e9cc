"""The root logger of a paddler process: text for people, JSON for log pipelines."""

from __future__ import annotations

import enum
import logging
import sys

from paddler.telemetry.json_log_formatter import JsonLogFormatter


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


LOG_LEVELS = ("debug", "info", "warning", "error")


def configure_logging(log_format: LogFormat, level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format is LogFormat.JSON:
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every call at INFO: an etcd lease renewed each second, a model download's
    # requests. Its warnings still show; our own lines say what the calls were for.
    if root.level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
