"""`python -m paddler agent`: serves a model for a balancer, as it tells."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from typing import Any

from paddler.cli.event_loop import run_until_signalled
from paddler.cli.telemetry_arguments import add_telemetry_arguments, apply_telemetry_arguments


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("agent", help=__doc__.splitlines()[0])
    parser.add_argument(
        "--management-addr",
        required=True,
        action="append",
        help="HOST:PORT of the balancer's management service; wss://HOST:PORT (or https://) "
        "when the balancer serves TLS. Several balancers of one cluster (sharing an etcd state "
        "database): repeat it, or give a comma-separated list; the agent serves each of them",
    )
    parser.add_argument("--slots", type=int, required=True, help="requests served at once")
    parser.add_argument("--name", help="shown in the balancer's agent list")
    parser.add_argument(
        "--pool",
        help="the model pool this agent serves, always (default: the balancer places it; see /api/v1/pools)",
    )
    parser.add_argument("--threads", type=int, default=0, help="CPU threads; 0: one per physical core")
    parser.add_argument(
        "--thread-wait",
        choices=("spin", "sleep"),
        default="spin",
        help="how idle llama.cpp threads wait: spin (fastest on a machine of its own) or sleep "
        "(for a machine shared with other busy processes, where spinning threads starve each other)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="matrix kernels whose rounding does not depend on the batch: the same greedy output "
        "whether a prompt is resumed from the prefix cache or not, alone or beside other requests; "
        "slower for concurrent streams and prompts (llamafile's tinyBLAS is off for this agent)",
    )
    parser.add_argument(
        "--agent-secret",
        default=os.environ.get("PADDLER_AGENT_SECRET") or None,
        help="the balancer's --agent-secret, presented when connecting (env PADDLER_AGENT_SECRET)",
    )
    parser.add_argument(
        "--tls-ca",
        help="a CA certificate (PEM file) to verify a wss:// balancer's certificate with, for a private "
        "CA (default: the system's CAs)",
    )
    parser.add_argument(
        "--max-model-download-bytes",
        type=int,
        default=None,
        help="the largest model file a URL download may bring, in bytes: a larger Content-Length is "
        "refused at once and a stream that passes it is stopped (default 512 GiB; 0: no limit)",
    )
    add_telemetry_arguments(parser)
    parser.set_defaults(run=run)


def management_addresses(values: list[str]) -> tuple[str, ...] | str:
    """Every balancer address of repeated and comma-separated --management-addr values, in
    order and once each; or why they cannot be used."""
    addresses: list[str] = []
    for value in values:
        for address in value.split(","):
            address = address.strip()
            if not address:
                return f"{value!r} has an empty address"
            if address not in addresses:
                addresses.append(address)
    if len(addresses) > MAX_BALANCERS:
        return f"at most {MAX_BALANCERS} balancers, {len(addresses)} given"
    return tuple(addresses)


# A cluster runs one to three balancers; a few more are tolerated, not hundreds of sockets.
MAX_BALANCERS = 8


def run(args: argparse.Namespace) -> int:
    if args.slots < 1:
        print("error: --slots must be at least 1", file=sys.stderr)
        return 2
    if args.pool is not None:
        from paddler.protocol.model_pool import pool_name_problem

        pool_problem = pool_name_problem(args.pool)
        if pool_problem is not None:
            print(f"error: --pool: {pool_problem}", file=sys.stderr)
            return 2
    if args.threads < 0:
        print("error: --threads must not be negative", file=sys.stderr)
        return 2
    if args.max_model_download_bytes is not None and args.max_model_download_bytes < 0:
        print("error: --max-model-download-bytes must not be negative (0: no limit)", file=sys.stderr)
        return 2
    from paddler.agent.management_socket_client import (
        balancer_tls_context,
        management_host_port,
        management_socket_base,
    )
    from paddler.balancer.http.http_server import split_address

    addresses = management_addresses(args.management_addr)
    if isinstance(addresses, str):
        print(f"error: --management-addr: {addresses}", file=sys.stderr)
        return 2
    for address in addresses:
        try:
            split_address(management_host_port(address))
        except ValueError as error:
            print(f"error: --management-addr {address}: {error}", file=sys.stderr)
            return 2
    if args.tls_ca:
        if not any(management_socket_base(address).startswith("wss://") for address in addresses):
            print("error: --tls-ca needs a wss:// (or https://) --management-addr", file=sys.stderr)
            return 2
        try:
            balancer_tls_context(args.tls_ca)
        except OSError as error:  # ssl.SSLError is one too
            print(f"error: --tls-ca {args.tls_ca}: {error}", file=sys.stderr)
            return 2
    # Imported here: the native module is only loaded by commands that need it.
    from paddler.agent.engine_config import ThreadWait
    from paddler.bootstrap.agent_bootstrap import AgentConfig, run_agent

    problem = apply_telemetry_arguments(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    config = AgentConfig(
        management_addrs=addresses,
        slots=args.slots,
        name=args.name,
        pool=args.pool,
        threads=args.threads,
        thread_wait=ThreadWait(args.thread_wait),
        deterministic=args.deterministic,
        secret=args.agent_secret,
        tls_ca=args.tls_ca,
        otlp_endpoint=args.otlp_endpoint,
    )
    if args.max_model_download_bytes is not None:
        config = dataclasses.replace(config, max_model_download_bytes=args.max_model_download_bytes)

    async def main(shutdown: asyncio.Event) -> None:
        await run_agent(config, shutdown)

    return run_until_signalled(main, (signal.SIGINT, signal.SIGTERM))
