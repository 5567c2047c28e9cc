"""Flags for logs and traces, the same on every long-running command."""

from __future__ import annotations

import argparse
import os

from paddler.telemetry.logging_setup import LOG_LEVELS, LogFormat, configure_logging
from paddler.telemetry.request_tracer import TracingUnavailable, check_tracing_available


def add_telemetry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        type=LogFormat,
        choices=list(LogFormat),
        default=LogFormat.TEXT,
        help="text for people, json (one object per line, with trace_id on request lines) for log pipelines",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="info logs one line per request; warning keeps only problems",
    )
    parser.add_argument(
        "--otlp-endpoint",
        default=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None,
        help="OTLP/HTTP collector (e.g. http://127.0.0.1:4318) to export a span per request to; "
        "needs pip install 'paddler[otlp]' (env OTEL_EXPORTER_OTLP_ENDPOINT)",
    )


def apply_telemetry_arguments(args: argparse.Namespace) -> str | None:
    """Sets up logging; returns why the command cannot start (tracing asked for, the SDK missing), or None."""
    configure_logging(args.log_format, args.log_level)
    try:
        check_tracing_available(args.otlp_endpoint)
    except TracingUnavailable as error:
        return str(error)
    return None
