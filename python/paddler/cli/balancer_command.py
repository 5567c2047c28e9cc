"""`python -m paddler balancer`: the balancer, its APIs and its agent sockets."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

from paddler.balancer.dispatch.request_limits import (
    DEFAULT_MAX_CONVERSATION_CHARS,
    DEFAULT_MAX_CONVERSATION_MESSAGES,
    DEFAULT_MAX_EMBEDDING_BATCH_DOCUMENTS,
    DEFAULT_MAX_SOCKETS_PER_CLIENT,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MAX_WEBSOCKET_UNSENT_BYTES,
)
from paddler.cli.event_loop import run_until_signalled
from paddler.cli.telemetry_arguments import add_telemetry_arguments, apply_telemetry_arguments
from paddler.protocol.body_validation import DEFAULT_MAX_BODY_BYTES


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("balancer", help=__doc__.splitlines()[0])
    parser.add_argument("--inference-addr", default="127.0.0.1:8061", help="HOST:PORT of the inference API")
    parser.add_argument(
        "--management-addr", default="127.0.0.1:8060", help="HOST:PORT of the management API (agents connect)"
    )
    parser.add_argument("--compat-openai-addr", help="HOST:PORT of the OpenAI API (off by default)")
    parser.add_argument("--web-admin-panel-addr", help="HOST:PORT of the web admin panel (off by default)")
    parser.add_argument(
        "--state-database",
        default="memory://",
        help="memory://, file:///absolute/path.json, or etcd://HOST:PORT[,HOST:PORT...]/PREFIX: "
        "the model pools in etcd, shared by two or three balancers of one cluster (they elect "
        "a leader there for model placement)",
    )
    parser.add_argument(
        "--max-buffered-requests", type=_non_negative, default=30, help="0 disables buffering"
    )
    parser.add_argument(
        "--buffered-request-timeout", type=_positive, default=10_000, help="ms a request may wait for a slot"
    )
    parser.add_argument(
        "--inference-item-timeout",
        type=_positive,
        default=30_000,
        help="ms allowed between two tokens, the first one included",
    )
    parser.add_argument(
        "--shutdown-grace-period",
        type=_non_negative,
        default=30_000,
        help="ms that streams in flight may go on after SIGTERM; then they end with error 503",
    )
    parser.add_argument("--inference-cors-allowed-host", action="append", default=[])
    parser.add_argument("--management-cors-allowed-host", action="append", default=[])
    parser.add_argument("--statsd-addr", help="HOST:PORT of a StatsD server (off by default)")
    parser.add_argument("--statsd-prefix", default="paddler_")
    parser.add_argument("--statsd-reporting-interval", type=_positive, default=10_000, help="ms")
    auth = parser.add_argument_group(
        "authentication", "off by default; secrets may come from the environment instead of the command line"
    )
    auth.add_argument(
        "--inference-api-key",
        action="append",
        default=_keys_from_environment(),
        help="a key accepted as `Authorization: Bearer` by the inference and OpenAI APIs; repeatable "
        "(env PADDLER_INFERENCE_API_KEYS, comma separated)",
    )
    auth.add_argument(
        "--management-token",
        default=os.environ.get("PADDLER_MANAGEMENT_TOKEN") or None,
        help="the bearer token of the management API (env PADDLER_MANAGEMENT_TOKEN)",
    )
    auth.add_argument(
        "--agent-secret",
        default=os.environ.get("PADDLER_AGENT_SECRET") or None,
        help="the secret agents present on their socket (env PADDLER_AGENT_SECRET)",
    )
    tls = parser.add_argument_group("TLS", "every service over https and wss; off by default")
    tls.add_argument("--tls-cert", help="the certificate chain (PEM file) the services present")
    tls.add_argument("--tls-key", help="its private key (PEM file)")
    limits = parser.add_argument_group("limits", "on what clients send; 0 turns a limit off")
    limits.add_argument("--max-body-bytes", type=_positive, default=DEFAULT_MAX_BODY_BYTES)
    limits.add_argument(
        "--max-websocket-frame-bytes",
        type=_positive,
        default=DEFAULT_MAX_BODY_BYTES,
        help="the largest message on the inference socket",
    )
    limits.add_argument(
        "--max-websocket-unsent-bytes",
        type=_non_negative,
        default=DEFAULT_MAX_WEBSOCKET_UNSENT_BYTES,
        help="what an inference socket may hold unsent for a client that does not read; "
        "beyond, it is closed (1008) and its requests are stopped",
    )
    limits.add_argument(
        "--max-tokens-limit",
        type=_non_negative,
        default=DEFAULT_MAX_TOKENS,
        help="the most tokens one request may generate; -1 (no limit) in a request means this many",
    )
    limits.add_argument(
        "--max-conversation-messages", type=_non_negative, default=DEFAULT_MAX_CONVERSATION_MESSAGES
    )
    limits.add_argument(
        "--max-conversation-chars",
        type=_non_negative,
        default=DEFAULT_MAX_CONVERSATION_CHARS,
        help="characters of text in one conversation",
    )
    limits.add_argument(
        "--max-embedding-batch-documents",
        type=_non_negative,
        default=DEFAULT_MAX_EMBEDDING_BATCH_DOCUMENTS,
        help="documents in one embedding batch (both APIs)",
    )
    limits.add_argument(
        "--max-sockets-per-client",
        type=_non_negative,
        default=DEFAULT_MAX_SOCKETS_PER_CLIENT,
        help="inference sockets one client address may hold open at once",
    )
    add_telemetry_arguments(parser)
    parser.set_defaults(run=run)


def _keys_from_environment() -> list[str]:
    return [key.strip() for key in os.environ.get("PADDLER_INFERENCE_API_KEYS", "").split(",") if key.strip()]


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def run(args: argparse.Namespace) -> int:
    from paddler.balancer.dispatch.request_limits import RequestLimits
    from paddler.balancer.dispatch.state_database_errors import StateDatabaseError
    from paddler.balancer.http.http_server import TlsFiles, split_address
    from paddler.bootstrap.balancer_bootstrap import run_balancer
    from paddler.bootstrap.balancer_config import BalancerConfig
    from paddler.bootstrap.state_database_opener import open_state_database

    if bool(args.tls_cert) != bool(args.tls_key):
        print("error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert else None
    config = BalancerConfig(
        inference_addr=args.inference_addr,
        management_addr=args.management_addr,
        compat_openai_addr=args.compat_openai_addr,
        web_admin_panel_addr=args.web_admin_panel_addr,
        state_database=args.state_database,
        max_buffered_requests=args.max_buffered_requests,
        buffered_request_timeout_ms=args.buffered_request_timeout,
        inference_item_timeout_ms=args.inference_item_timeout,
        shutdown_grace_period_ms=args.shutdown_grace_period,
        inference_cors_allowed_hosts=args.inference_cors_allowed_host,
        management_cors_allowed_hosts=args.management_cors_allowed_host,
        statsd_addr=args.statsd_addr,
        statsd_prefix=args.statsd_prefix,
        statsd_reporting_interval_ms=args.statsd_reporting_interval,
        inference_api_keys=args.inference_api_key,
        management_token=args.management_token,
        agent_secret=args.agent_secret,
        otlp_endpoint=args.otlp_endpoint,
        tls=tls,
        request_limits=RequestLimits(
            max_body_bytes=args.max_body_bytes,
            max_websocket_frame_bytes=args.max_websocket_frame_bytes,
            max_sockets_per_client=args.max_sockets_per_client,
            max_websocket_unsent_bytes=args.max_websocket_unsent_bytes,
            max_tokens=args.max_tokens_limit,
            max_conversation_messages=args.max_conversation_messages,
            max_conversation_chars=args.max_conversation_chars,
            max_embedding_batch_documents=args.max_embedding_batch_documents,
        ),
    )
    # Refused before anything starts, with a message rather than a traceback.
    try:
        for address in (
            config.inference_addr,
            config.management_addr,
            config.compat_openai_addr,
            config.web_admin_panel_addr,
            config.statsd_addr,
        ):
            if address:
                split_address(address)
        open_state_database(config.state_database)
    except (ValueError, StateDatabaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tls_problem = tls.check() if tls else None
    if tls_problem is not None:
        print(f"error: {tls_problem}", file=sys.stderr)
        return 2
    problem = apply_telemetry_arguments(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    for exposure in config.unprotected_exposures():
        logging.getLogger("paddler.balancer").warning(
            "%s: anyone who can reach it can use it (fine on a private network)", exposure
        )
    open_agent_registration = config.open_agent_registration()
    if open_agent_registration is not None:
        logging.getLogger("paddler.balancer").warning(open_agent_registration)
    scheme = config.http_scheme
    openai = f", OpenAI {scheme}://{config.compat_openai_addr}/v1" if config.compat_openai_addr else ""
    panel_addr = config.web_admin_panel_addr
    panel = f", web admin panel {scheme}://{panel_addr}" if panel_addr else ""
    print(
        f"paddler balancer: inference {scheme}://{config.inference_addr}, "
        f"management {scheme}://{config.management_addr}{openai}{panel}",
        flush=True,
    )

    async def main(shutdown: asyncio.Event) -> None:
        try:
            await run_balancer(config, shutdown)
        except (StateDatabaseError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from error

    return run_until_signalled(main, (signal.SIGINT, signal.SIGTERM))
