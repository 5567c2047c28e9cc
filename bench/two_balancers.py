"""High availability under load: two balancers over one etcd, one of them SIGKILLed and restarted.

Both sides are real processes on this machine: etcd (Debian's etcd-server), balancers
(`--state-database etcd://...`) and 2 agents (2 slots, 1 thread each) serving SmolLM2.

- **One balancer** (the reference): every client streams through it.
- **Two balancers**: the same agents connected to both, the clients split over both. A third
  of the way in, balancer A is SIGKILLed; it is started again `RESTART_AFTER_S` later. A client
  whose balancer cannot be reached sends its request to the other one (the client-side retry
  the README shows); a stream cut by A's death counts as `cut on A` (its balancer is gone).

The same steady load on both sides: `CLIENTS` loops, each streaming `/v1/chat/completions`
(temperature 0, `ignore_eos`, `MAX_TOKENS` tokens) back to back for the window. Reported:
aggregate tokens/s of the two-balancer run against the one-balancer run (goal >= 0.95x);
slot refusals per 1,000 dispatches (requests an agent refused because another balancer's
requests held its slots; goal <= 10); requests lost (failed) and hung (no end within
`HUNG_AFTER_S`) on the surviving balancer B (goal 0 and 0); and the time from A's restart until
a request through it is answered again. Rounds alternate the two sides (A B B A ...).

    python bench/two_balancers.py [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancer_vs_llama_server import stop_processes, wait_healthy
from engine_vs_llama_server import free_port
from paddler.bundled_model import smollm2_path

AGENTS = 2
SLOTS = 2
THREADS = 1
CLIENTS = 8
MAX_TOKENS = 64
RESTART_AFTER_S = 3.0
HUNG_AFTER_S = 120.0
# Refusals are counted from this long after the load starts: at the start both balancers see
# every slot free and each sends as many requests as there are slots, and the agents refuse the
# surplus (counted apart, as `ramp`).
RAMP_S = 3.0


@dataclass
class Run:
    tokens: int = 0
    seconds: float = 0.0
    requests: int = 0
    lost_on_b: list[str] = field(default_factory=list)
    hung_on_b: int = 0
    cut_on_a: int = 0
    # Tokens the cut streams had received: generated and delivered, but their requests failed.
    cut_tokens: int = 0
    retried_elsewhere: int = 0
    refusals: float = 0.0
    dispatches: float = 0.0
    ramp_refusals: float = 0.0
    # From A's restart until its agents are back (listed with their slots), and until a request
    # through it is answered (it waits for a slot: every one is busy with the steady load).
    agents_back_after_s: float | None = None
    back_after_s: float | None = None

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


@dataclass
class Balancer:
    management: int = field(default_factory=free_port)
    inference: int = field(default_factory=free_port)
    openai: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    # Counters scraped from the balancer's /metrics while it lived, summed over its lives.
    counted: dict[str, float] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.openai}/v1"

    async def start(self, state_database: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "paddler", "balancer",
            "--management-addr", f"127.0.0.1:{self.management}",
            "--inference-addr", f"127.0.0.1:{self.inference}",
            "--compat-openai-addr", f"127.0.0.1:{self.openai}",
            "--state-database", state_database,
            "--buffered-request-timeout", "1800000", "--max-buffered-requests", "1000",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await wait_healthy(f"http://127.0.0.1:{self.management}/health")
        self._last = {}

    async def scrape(self, http: httpx.AsyncClient) -> None:
        """Adds what the counters gained since the last scrape (a restarted balancer counts from 0)."""
        try:
            text = (await http.get(f"http://127.0.0.1:{self.management}/metrics")).text
        except httpx.HTTPError:
            return
        for name in ("paddler_agent_slot_refusals_total", "paddler_dispatches_total"):
            found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
            value = float(found.group(1)) if found else 0.0
            gained = value - self._last.get(name, 0.0)
            self.counted[name] = self.counted.get(name, 0.0) + max(gained, 0.0)
            self._last[name] = value


@contextlib.asynccontextmanager
async def etcd_server() -> AsyncIterator[str]:
    binary = shutil.which("etcd")
    if binary is None:
        raise SystemExit("etcd is not installed (Debian: apt install etcd-server)")
    client, peer = free_port(), free_port()
    with tempfile.TemporaryDirectory() as data:
        process = await asyncio.create_subprocess_exec(
            binary, "--data-dir", data,
            "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await wait_healthy(f"http://127.0.0.1:{client}/health")
            yield f"127.0.0.1:{client}"
        finally:
            await stop_processes(process)


def desired_state() -> dict[str, object]:
    return {
        "model": {"LocalToAgent": str(smollm2_path())},
        "inference_parameters": {
            "context_size": 2048, "n_batch": 2048, "k_cache_dtype": "F16", "v_cache_dtype": "F16",
            "temperature": 0.0, "penalty_repeat": 1.0, "penalty_presence": 0.0,
        },
    }  # fmt: skip


async def start_agents(balancers: list[Balancer]) -> list[asyncio.subprocess.Process]:
    addresses = ",".join(f"127.0.0.1:{balancer.management}" for balancer in balancers)
    agents = []
    for index in range(AGENTS):
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "paddler", "agent", "--management-addr", addresses,
            "--slots", str(SLOTS), "--threads", str(THREADS), "--name", f"bench-{index + 1}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        agents.append(agent)
    return agents


async def serving_everywhere(http: httpx.AsyncClient, balancers: list[Balancer]) -> None:
    for _ in range(1200):
        ready = 0
        for balancer in balancers:
            listed = (await http.get(f"http://127.0.0.1:{balancer.management}/api/v1/agents")).json()[
                "agents"
            ]
            ready += sum(1 for agent in listed if agent["slots_total"] == SLOTS)
        if ready == AGENTS * len(balancers):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the agents did not start serving on every balancer")


class Cut(Exception):
    """The stream began and then broke: its balancer went away under it."""

    def __init__(self, message: str, tokens: int) -> None:
        super().__init__(message)
        self.tokens = tokens


async def stream(http: httpx.AsyncClient, url: str, index: int) -> int:
    """One streamed chat; its content tokens. Raises httpx.ConnectError when nothing answered."""
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": f"Tell story number {index} about a lighthouse."}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "stream": True,
        "ignore_eos": True,
    }
    tokens = 0
    try:
        async with http.stream("POST", f"{url}/chat/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    chunk = orjson.loads(line[6:])
                    choices = chunk.get("choices") or []
                    if choices and (choices[0].get("delta") or {}).get("content"):
                        tokens += 1
    except (httpx.RemoteProtocolError, httpx.ReadError) as error:
        if tokens:
            raise Cut(str(error), tokens) from error
        raise httpx.ConnectError(str(error)) from error
    return tokens


async def load(http: httpx.AsyncClient, balancers: list[Balancer], run: Run, window_s: float) -> None:
    """CLIENTS loops streaming back to back for window_s; each client starts on balancer
    index % len(balancers) and retries a request the other way when its balancer is unreachable."""
    deadline = time.monotonic() + window_s
    counter = iter(range(10**9))

    async def client(number: int) -> None:
        while time.monotonic() < deadline:
            index = next(counter)
            order = [balancers[(number + k) % len(balancers)] for k in range(len(balancers))]
            for attempt, balancer in enumerate(order):
                on_b = len(balancers) == 2 and balancer is balancers[1]
                try:
                    async with asyncio.timeout(HUNG_AFTER_S):
                        tokens = await stream(http, balancer.url, index)
                except httpx.ConnectError:
                    if attempt + 1 < len(order):
                        run.retried_elsewhere += 1
                        continue
                    await asyncio.sleep(0.1)
                    break
                except Cut as error:
                    if on_b:
                        run.lost_on_b.append(f"cut: {error}")
                    else:
                        run.cut_on_a += 1
                        run.cut_tokens += error.tokens
                    break
                except TimeoutError:
                    if on_b:
                        run.hung_on_b += 1
                    break
                except httpx.HTTPStatusError as error:
                    if on_b:
                        run.lost_on_b.append(f"{error.response.status_code}")
                    break
                run.tokens += tokens
                run.requests += 1
                break

    started = time.monotonic()
    await asyncio.gather(*(client(number) for number in range(CLIENTS)))
    run.seconds = time.monotonic() - started


async def one_balancer(window_s: float) -> Run:
    run = Run()
    async with etcd_server() as endpoint, httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None)) as http:
        balancer = Balancer()
        await balancer.start(f"etcd://{endpoint}/bench")
        agents: list[asyncio.subprocess.Process] = []
        try:
            response = await http.put(
                f"http://127.0.0.1:{balancer.management}/api/v1/balancer_desired_state", json=desired_state()
            )
            response.raise_for_status()
            agents = await start_agents([balancer])
            await serving_everywhere(http, [balancer])
            await load(http, [balancer], run, window_s)
            await balancer.scrape(http)
            run.refusals = balancer.counted.get("paddler_agent_slot_refusals_total", 0.0)
            run.dispatches = balancer.counted.get("paddler_dispatches_total", 0.0)
        finally:
            await stop_processes(*agents, balancer.process)
    return run


async def two_balancers(window_s: float) -> Run:
    run = Run()
    async with etcd_server() as endpoint, httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None)) as http:
        a, b = Balancer(), Balancer()
        database = f"etcd://{endpoint}/bench"
        await a.start(database)
        await b.start(database)
        agents: list[asyncio.subprocess.Process] = []
        try:
            response = await http.put(
                f"http://127.0.0.1:{a.management}/api/v1/balancer_desired_state", json=desired_state()
            )
            response.raise_for_status()
            agents = await start_agents([a, b])
            await serving_everywhere(http, [a, b])

            async def scrape_until(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    await a.scrape(http)
                    await b.scrape(http)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.5)

            ramp: dict[str, float] = {}

            async def after_ramp() -> None:
                await asyncio.sleep(RAMP_S)
                for balancer in (a, b):
                    await balancer.scrape(http)
                for name in ("paddler_agent_slot_refusals_total", "paddler_dispatches_total"):
                    ramp[name] = sum(x.counted.get(name, 0.0) for x in (a, b))

            async def kill_and_restart() -> None:
                await after_ramp()
                await asyncio.sleep(window_s / 3 - RAMP_S)
                await a.scrape(http)
                assert a.process is not None
                a.process.kill()
                await a.process.wait()
                await asyncio.sleep(RESTART_AFTER_S)
                restarted = time.monotonic()
                await a.start(database)
                while True:
                    listed = (await http.get(f"http://127.0.0.1:{a.management}/api/v1/agents")).json()
                    if sum(1 for agent in listed["agents"] if agent["slots_total"] == SLOTS) == AGENTS:
                        run.agents_back_after_s = time.monotonic() - restarted
                        break
                    await asyncio.sleep(0.05)
                while True:
                    with contextlib.suppress(httpx.HTTPError, Cut):
                        if await stream(http, a.url, -1):
                            run.back_after_s = time.monotonic() - restarted
                            return
                    await asyncio.sleep(0.05)

            stop = asyncio.Event()
            scraping = asyncio.create_task(scrape_until(stop))
            chaos = asyncio.create_task(kill_and_restart())
            await load(http, [a, b], run, window_s)
            await chaos
            stop.set()
            await scraping
            await a.scrape(http)
            await b.scrape(http)
            refusals = sum(x.counted.get("paddler_agent_slot_refusals_total", 0.0) for x in (a, b))
            dispatches = sum(x.counted.get("paddler_dispatches_total", 0.0) for x in (a, b))
            run.ramp_refusals = ramp["paddler_agent_slot_refusals_total"]
            run.refusals = refusals - run.ramp_refusals
            run.dispatches = dispatches - ramp["paddler_dispatches_total"]
        finally:
            await stop_processes(*agents, a.process, b.process)
    return run


def spread(values: list[float]) -> str:
    return f"{min(values):8.1f} {statistics.median(values):8.1f} {max(values):8.1f}"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the order alternating (default 2)")
    parser.add_argument("--quick", action="store_true", help="one round of short windows: a smoke test")
    args = parser.parse_args()
    rounds, window_s = (1, 12.0) if args.quick else (args.rounds, 45.0)
    ones: list[Run] = []
    twos: list[Run] = []
    for round_index in range(rounds):
        order = ("one", "two") if round_index % 2 == 0 else ("two", "one")
        for side in order:
            print(f"round {round_index + 1}/{rounds}: {side} balancer(s)", flush=True)
            if side == "one":
                ones.append(await one_balancer(window_s))
            else:
                twos.append(await two_balancers(window_s))

    one_rates = [run.rate for run in ones]
    two_rates = [run.rate for run in twos]
    ratio = statistics.median(two_rates) / statistics.median(one_rates)
    refusals = sum(run.refusals for run in twos)
    dispatches = sum(run.dispatches for run in twos)
    per_thousand = 1000 * refusals / dispatches if dispatches else 0.0
    lost = sum(len(run.lost_on_b) for run in twos)
    hung = sum(run.hung_on_b for run in twos)
    back = [run.back_after_s for run in twos if run.back_after_s is not None]
    agents_back = [run.agents_back_after_s for run in twos if run.agents_back_after_s is not None]
    print()
    print(f"{'':44} {'min':>8} {'median':>8} {'max':>8}")
    print(f"{'aggregate tok/s, one balancer':44} {spread(one_rates)}")
    print(f"{'aggregate tok/s, two (A killed, restarted)':44} {spread(two_rates)}")
    print(
        f"{'restarted A: its agents back after (s)':44} {spread(agents_back) if agents_back else '   never'}"
    )
    print(f"{'restarted A: first answer after (s)':44} {spread(back) if back else '   never'}")
    print(f"two / one (medians): {ratio:.3f}x (goal >= 0.95)")
    with_cut = statistics.median((run.tokens + run.cut_tokens) / run.seconds for run in twos)
    with_cut_ratio = with_cut / statistics.median(one_rates)
    print(f"  counting the tokens the streams cut on A had received too: {with_cut_ratio:.3f}x")
    ramp = sum(run.ramp_refusals for run in twos)
    print(
        f"slot refusals after the first {RAMP_S:g} s: {refusals:.0f} in {dispatches:.0f} dispatches, "
        f"{per_thousand:.2f} per 1,000 (goal <= 10); in the ramp: {ramp:.0f}"
    )
    print(f"on the surviving balancer B: {lost} requests lost, {hung} hung (goal 0 and 0)")
    completed = sum(run.requests for run in twos)
    retried = sum(run.retried_elsewhere for run in twos)
    cut = sum(run.cut_on_a for run in twos)
    print(
        f"requests: {completed} completed, {retried} sent to the other balancer after A was "
        f"unreachable, {cut} cut on A when it was killed"
    )
    for run in twos:
        for failure in run.lost_on_b[:5]:
            print(f"  lost on B: {failure}")
    print(
        f"ratio={ratio:.3f} refusals_per_1000={per_thousand:.2f} lost_on_b={lost} hung_on_b={hung} "
        f"restarted_serves_after_s={statistics.median(back) if back else -1:.2f}"
    )
    return 0 if lost == 0 and hung == 0 and back else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
