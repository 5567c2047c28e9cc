"""`python -m paddler balancer`: the balancer, its APIs and its agent sockets."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from paddler.cli.event_loop import run_until_signalled


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("balancer", help=__doc__.splitlines()[0])
    parser.add_argument("--inference-addr", default="127.0.0.1:8061", help="HOST:PORT of the inference API")
    parser.add_argument(
        "--management-addr", default="127.0.0.1:8060", help="HOST:PORT of the management API (agents connect)"
    )
    parser.add_argument("--compat-openai-addr", help="HOST:PORT of the OpenAI API (off by default)")
    parser.add_argument("--web-admin-panel-addr", help="HOST:PORT of the web admin panel (off by default)")
    parser.add_argument(
        "--state-database", default="memory://", help="memory:// or file:///absolute/path.json"
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
    parser.add_argument("--inference-cors-allowed-host", action="append", default=[])
    parser.add_argument("--management-cors-allowed-host", action="append", default=[])
    parser.add_argument("--statsd-addr", help="HOST:PORT of a StatsD server (off by default)")
    parser.add_argument("--statsd-prefix", default="paddler_")
    parser.add_argument("--statsd-reporting-interval", type=_positive, default=10_000, help="ms")
    parser.set_defaults(run=run)


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
    from paddler.balancer.http_server import split_address
    from paddler.balancer.state_database import StateDatabaseError, open_state_database
    from paddler.bootstrap.balancer_bootstrap import run_balancer
    from paddler.bootstrap.balancer_config import BalancerConfig

    config = BalancerConfig(
        inference_addr=args.inference_addr,
        management_addr=args.management_addr,
        compat_openai_addr=args.compat_openai_addr,
        web_admin_panel_addr=args.web_admin_panel_addr,
        state_database=args.state_database,
        max_buffered_requests=args.max_buffered_requests,
        buffered_request_timeout_ms=args.buffered_request_timeout,
        inference_item_timeout_ms=args.inference_item_timeout,
        inference_cors_allowed_hosts=args.inference_cors_allowed_host,
        management_cors_allowed_hosts=args.management_cors_allowed_host,
        statsd_addr=args.statsd_addr,
        statsd_prefix=args.statsd_prefix,
        statsd_reporting_interval_ms=args.statsd_reporting_interval,
    )
    # Refused before anything starts, with a message rather than a traceback.
    try:
        for address in (
            config.inference_addr,
            config.management_addr,
            config.compat_openai_addr,
            config.statsd_addr,
        ):
            if address:
                split_address(address)
        open_state_database(config.state_database)
    except (ValueError, StateDatabaseError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    openai = f", OpenAI http://{config.compat_openai_addr}/v1" if config.compat_openai_addr else ""
    print(
        f"paddler balancer: inference http://{config.inference_addr}, "
        f"management http://{config.management_addr}{openai}",
        flush=True,
    )

    async def main(shutdown: asyncio.Event) -> None:
        try:
            await run_balancer(config, shutdown)
        except (StateDatabaseError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from error

    return run_until_signalled(main, (signal.SIGINT, signal.SIGTERM))
