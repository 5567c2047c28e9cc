"""The balancer alone: its dispatch rate, relay rate, agent capacity and buffer memory.

No model and no engine: the agents are simulated (bench/simulated_agent.py, a process of its
own speaking the agent socket as documented, answering at a fixed token rate). The real balancer
runs as a subprocess (`python -m paddler balancer` on free loopback ports), a fresh one per
figure, and the clients are this process, on `/api/v1/inference_socket` (many WebSockets, many
requests in flight on each, a new request sent as soon as one finishes).

1. Dispatches per second: 1-token `ContinueFromRawPrompt` requests, 4 agents x 64 slots,
   twice as many requests in flight as slots (so the buffer is in the path too), requests
   finished per second over the measured window (after a warm-up).
2. Relayed tokens per second: the same agents stream 500 tokens per request at 1000 tokens/s
   per request; tokens received by the clients per second.
3. 1,000 agents (4 slots each): all registered (GET /api/v1/agents), the balancer's RSS
   before they connect and after, and the dispatch rate of figure 1 with them (the same 512
   requests in flight, now fewer than the slots: nearly every request has an agent socket, and
   a frame each way, to itself, where 4 agents get them batched).
4. Memory per buffered request: no agent at all, N requests sent and left waiting
   (`--max-buffered-requests` above N, a long `--buffered-request-timeout`); the balancer's
   VmRSS (/proc/PID/status) before and after, divided by N.

The balancer, the simulated agents and the clients share the machine's cores: on a small
machine the figures are a floor for the balancer, not its ceiling. Figures 1 and 2 vary
from one balancer process to the next by up to a third on the 2-core VM (each process
settles in its own way), so each is measured on `--repeats` fresh balancers and the
median is reported, each run shown.

    python bench/balancer_alone.py [--seconds 10] [--repeats 3] [--quick]

Ends with: dispatches_per_s=X relayed_tokens_per_s=Y bytes_per_buffered_request=Z agents_connected=N
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import uvloop
import websockets
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lean_websocket_client import LeanWebSocket

SIMULATED_AGENT = Path(__file__).resolve().parent / "simulated_agent.py"
WARM_UP_S = 1.0
DISPATCH_AGENTS, DISPATCH_SLOTS = 4, 64
MANY_AGENTS, MANY_AGENTS_SLOTS = 1000, 4
RELAY_TOKENS_PER_REQUEST, RELAY_TOKENS_PER_S = 500, 1000.0
CLIENT_SOCKETS = 16
# Requests in flight in figures 1 to 3: twice the slots of figure 1, whatever the agents.
IN_FLIGHT = 2 * DISPATCH_AGENTS * DISPATCH_SLOTS

# Routing capacity, not logging: at "info" the balancer writes a line per
# request (an access log); --log-level info measures that too.
BALANCER_LOG_LEVEL = ["warning"]

GOAL_DISPATCHES_PER_S = 20_000
GOAL_RELAYED_TOKENS_PER_S = 200_000
GOAL_BYTES_PER_BUFFERED_REQUEST = 4096


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may hold spaces: the fields counted from its closing ")".
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Balancer:
    pid: int
    management: str
    inference: str


@contextlib.asynccontextmanager
async def balancer(max_buffered_requests: int, buffered_request_timeout_ms: int) -> AsyncIterator[Balancer]:
    management, inference = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    # Its log (a line per agent connection) is kept aside, shown only if it dies.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed when the balancer is)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paddler", "balancer",
        "--management-addr", management,
        "--inference-addr", inference,
        "--max-buffered-requests", str(max_buffered_requests),
        "--buffered-request-timeout", str(buffered_request_timeout_ms),
        "--log-level", BALANCER_LOG_LEVEL[0],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://{management}/health")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("the balancer did not start")
        yield Balancer(process.pid, management, inference)
    finally:
        if process.returncode is None:
            process.terminate()
        else:
            log.seek(0)
            tail = log.read().decode(errors="replace").splitlines()[-20:]
            print("the balancer exited early:", *tail, sep="\n  ", file=sys.stderr)
        await process.wait()
        log.close()


@contextlib.asynccontextmanager
async def simulated_agents(
    management: str, agents: int, slots: int, tokens_per_s: float = RELAY_TOKENS_PER_S
) -> AsyncIterator[int]:
    """Yields the pid of the agents' process once the balancer lists them all."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SIMULATED_AGENT),
        "--management-addr", management,
        "--agents", str(agents),
        "--slots", str(slots),
        "--tokens-per-s", str(tokens_per_s),
    )  # fmt: skip
    try:
        await wait_for_agents(management, agents, slots)
        yield process.pid
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def wait_for_agents(management: str, agents: int, slots: int, timeout_s: float = 60.0) -> None:
    """Until the balancer lists every agent with its slots (what makes it dispatch to them)."""
    async with httpx.AsyncClient() as http, asyncio.timeout(timeout_s):
        while True:
            listed = (await http.get(f"http://{management}/api/v1/agents")).json()["agents"]
            if len(listed) == agents and all(agent["slots_total"] == slots for agent in listed):
                return
            await asyncio.sleep(0.2)


async def agents_listed(management: str) -> int:
    async with httpx.AsyncClient() as http:
        return len((await http.get(f"http://{management}/api/v1/agents")).json()["agents"])


@dataclass
class Counters:
    finished: int = 0
    tokens: int = 0
    errors: int = 0


def request_frame(request_id: str, max_tokens: int) -> bytes:
    body = {"ContinueFromRawPrompt": {"raw_prompt": "Hello", "max_tokens": max_tokens}}
    return orjson.dumps({"Request": {"id": request_id, "request": body}})


async def client_socket(
    inference: str,
    in_flight: int,
    max_tokens: int,
    counters: Counters,
    stop: asyncio.Event,
    ids: itertools.count[int],
) -> None:
    """Keeps `in_flight` requests going on one socket until `stop`, then lets them finish.

    A lean client (bench/lean_websocket_client.py): on this 2-core machine the clients share
    the cores with the balancer, and a general client library cost nearly as much CPU per
    token as the balancer itself.
    """
    finished = asyncio.get_running_loop().create_future()
    remaining = in_flight

    def on_text(payload: bytes) -> None:
        nonlocal remaining
        # Recognised by substring, not parsed: the client must cost far less than the balancer.
        # A token is `{"Response":...{"GeneratedToken":{"ContentToken":...}}}`, a result `..."Done"...`.
        if b'"ContentToken"' in payload:
            counters.tokens += 1
            return
        if b'"Done"' in payload:
            counters.finished += 1
        else:
            counters.errors += 1
            if counters.errors <= 3:
                print(f"  unexpected answer: {payload[:200]!r}", file=sys.stderr)
        if stop.is_set():
            remaining -= 1
            if remaining == 0 and not finished.done():
                finished.set_result(None)
        else:
            connection.send_text(request_frame(str(next(ids)), max_tokens))

    connection = await LeanWebSocket.connect(inference, "/api/v1/inference_socket", on_text)
    try:
        connection.send_texts([request_frame(str(next(ids)), max_tokens) for _ in range(in_flight)])
        await asyncio.wait({finished, connection.closed}, return_when=asyncio.FIRST_COMPLETED)
        if not finished.done():
            raise ConnectionError("the balancer closed a client socket")
    finally:
        connection.close()


@dataclass
class Rates:
    finished_per_s: float
    tokens_per_s: float
    errors: int
    # Share of one CPU each process used in the window: which one was the bottleneck.
    cpu: dict[str, float]

    def describe(self) -> str:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in self.cpu.items())
        return f"errors={self.errors}, CPU of one core: {shares}"


async def load(server: Balancer, agents_pid: int, seconds: float, max_tokens: int) -> Rates:
    """Requests from CLIENT_SOCKETS sockets, IN_FLIGHT in all; rates over `seconds` after a warm-up."""
    counters = Counters()
    stop = asyncio.Event()
    ids = itertools.count()
    per_socket = IN_FLIGHT // CLIENT_SOCKETS
    clients = [
        asyncio.create_task(client_socket(server.inference, per_socket, max_tokens, counters, stop, ids))
        for _ in range(CLIENT_SOCKETS)
    ]
    pids = {"balancer": server.pid, "agents": agents_pid, "clients": os.getpid()}
    await asyncio.sleep(WARM_UP_S)
    start, finished, tokens = time.monotonic(), counters.finished, counters.tokens
    cpu_start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - start
    finished, tokens = counters.finished - finished, counters.tokens - tokens
    cpu = {name: (cpu_seconds(pid) - cpu_start[name]) / elapsed for name, pid in pids.items()}
    stop.set()
    async with asyncio.timeout(30):
        await asyncio.gather(*clients)
    return Rates(finished / elapsed, tokens / elapsed, counters.errors, cpu)


async def dispatch_rate(seconds: float) -> float:
    async with (
        balancer(max_buffered_requests=IN_FLIGHT * 2, buffered_request_timeout_ms=60_000) as server,
        simulated_agents(server.management, DISPATCH_AGENTS, DISPATCH_SLOTS) as agents_pid,
    ):
        rates = await load(server, agents_pid, seconds, max_tokens=1)
    print(
        f"dispatches_per_s={rates.finished_per_s:.0f} (1-token requests, {DISPATCH_AGENTS} agents x "
        f"{DISPATCH_SLOTS} slots, {IN_FLIGHT} in flight on {CLIENT_SOCKETS} sockets, "
        f"{rates.describe()}; goal >= {GOAL_DISPATCHES_PER_S})"
    )
    return rates.finished_per_s


async def relay_rate(seconds: float) -> float:
    async with (
        balancer(max_buffered_requests=IN_FLIGHT * 2, buffered_request_timeout_ms=60_000) as server,
        simulated_agents(
            server.management, DISPATCH_AGENTS, DISPATCH_SLOTS, RELAY_TOKENS_PER_S
        ) as agents_pid,
    ):
        rates = await load(server, agents_pid, seconds, max_tokens=RELAY_TOKENS_PER_REQUEST)
    offered = DISPATCH_AGENTS * DISPATCH_SLOTS * RELAY_TOKENS_PER_S
    print(
        f"relayed_tokens_per_s={rates.tokens_per_s:.0f} ({RELAY_TOKENS_PER_REQUEST} tokens per request at "
        f"{RELAY_TOKENS_PER_S:.0f}/s each, {offered:.0f}/s offered by the agents, {rates.describe()}; "
        f"goal >= {GOAL_RELAYED_TOKENS_PER_S})"
    )
    return rates.tokens_per_s


async def many_agents(seconds: float, agents: int) -> int:
    async with balancer(max_buffered_requests=IN_FLIGHT * 2, buffered_request_timeout_ms=60_000) as server:
        before = rss_bytes(server.pid)
        started = time.monotonic()
        async with simulated_agents(server.management, agents, MANY_AGENTS_SLOTS) as agents_pid:
            connect_s = time.monotonic() - started
            after = rss_bytes(server.pid)
            connected = await agents_listed(server.management)
            rates = await load(server, agents_pid, seconds, max_tokens=1)
    print(
        f"agents_connected={connected} (of {agents}, {MANY_AGENTS_SLOTS} slots each, all listed in "
        f"{connect_s:.1f} s); balancer RSS {before / 2**20:.1f} MiB before, {after / 2**20:.1f} MiB after "
        f"({(after - before) / agents / 1024:.1f} KiB per agent)"
    )
    print(
        f"dispatches_per_s_with_{agents}_agents={rates.finished_per_s:.0f} "
        f"({IN_FLIGHT} in flight, {rates.describe()})"
    )
    return connected


async def buffer_memory(requests: int) -> float:
    async with (
        balancer(requests + CLIENT_SOCKETS, buffered_request_timeout_ms=600_000) as server,
        httpx.AsyncClient() as http,
    ):
        sockets = [
            await connect(f"ws://{server.inference}/api/v1/inference_socket", compression=None)
            for _ in range(CLIENT_SOCKETS)
        ]
        # A first request on each socket, waited for, so that what the sockets themselves cost
        # (and the first requests' one-time allocations) is not counted per request.
        for index, connection in enumerate(sockets):
            await connection.send(request_frame(f"warm-up-{index}", 16).decode())
        await _wait_buffered(http, server.management, len(sockets))
        before = rss_bytes(server.pid)
        for index in range(requests):
            await sockets[index % len(sockets)].send(request_frame(f"buffered-{index}", 16).decode())
        await _wait_buffered(http, server.management, requests + len(sockets))
        after = rss_bytes(server.pid)
        for connection in sockets:
            with contextlib.suppress(websockets.ConnectionClosed):
                await connection.close()
    per_request = (after - before) / requests
    print(
        f"bytes_per_buffered_request={per_request:.0f} ({requests} requests buffered, balancer RSS "
        f"{before / 2**20:.1f} -> {after / 2**20:.1f} MiB; goal <= {GOAL_BYTES_PER_BUFFERED_REQUEST})"
    )
    return per_request


async def _wait_buffered(http: httpx.AsyncClient, management: str, count: int) -> None:
    async with asyncio.timeout(60):
        while True:
            answer = await http.get(f"http://{management}/api/v1/buffered_requests")
            if answer.json()["buffered_requests_current"] >= count:
                return
            await asyncio.sleep(0.1)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each rate")
    parser.add_argument("--quick", action="store_true", help="a short run, for smoke testing")
    parser.add_argument(
        "--repeats", type=int, default=3, help="fresh balancers measured for figures 1 and 2 (median)"
    )
    parser.add_argument(
        "--log-level", default="warning", help="the balancer's; info adds its line per request"
    )
    args = parser.parse_args()
    seconds = 2.0 if args.quick else args.seconds
    BALANCER_LOG_LEVEL[0] = args.log_level
    agents = 100 if args.quick else MANY_AGENTS
    buffered = 2_000 if args.quick else 20_000
    print(f"balancer, simulated agents and clients share this machine's {os.cpu_count()} CPUs")
    repeats = 1 if args.quick else args.repeats
    dispatches = statistics.median([await dispatch_rate(seconds) for _ in range(repeats)])
    relayed = statistics.median([await relay_rate(seconds) for _ in range(repeats)])
    if repeats > 1:
        print(
            f"medians of {repeats} runs: dispatches_per_s={dispatches:.0f} relayed_tokens_per_s={relayed:.0f}"
        )
    connected = await many_agents(seconds, agents)
    per_request = await buffer_memory(buffered)
    print(
        f"dispatches_per_s={dispatches:.0f} relayed_tokens_per_s={relayed:.0f} "
        f"bytes_per_buffered_request={per_request:.0f} agents_connected={connected}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(uvloop.run(main()))
