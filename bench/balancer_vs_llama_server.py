"""End to end: the same OpenAI streaming client against llama-server and against our cluster.

Our side is real processes: `python -m paddler balancer` (with its OpenAI service) and one
`python -m paddler agent`, with the desired state set to SmolLM2. Both sides: 4 slots of 2048
tokens (8192 F16 KV cells), 2 threads, temperature 0, `ignore_eos`, 128 tokens per request,
the same prompts, `/v1/chat/completions` with `stream: true`, one client implementation.

Measured in rounds that alternate the two (A B B A ...), medians reported: single-stream decode
tok/s and time to first token; aggregate tok/s at 4 and 16 concurrent requests. Ends with one
line: single_stream_ratio=X aggregate_ratio=Y (ours / theirs, aggregate at 16).

    python bench/balancer_vs_llama_server.py [--rounds 2] [--gpu-layers -1]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_vs_llama_server import (
    MAX_TOKENS,
    OFFLOAD,
    SLOT_CONTEXT,
    SLOTS,
    THREADS,
    Figures,
    Stream,
    aggregate_rate,
    alternate_rounds,
    free_port,
    peak_rss_mib,
    report,
)

SINGLE_STREAM_REQUESTS = 3


def messages_for(index: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a careful storyteller."},
        {"role": "user", "content": f"Tell story number {index} about a river."},
    ]


async def openai_stream(http: httpx.AsyncClient, base_url: str, index: int) -> Stream:
    body = {
        "model": "smollm2",
        "messages": messages_for(index),
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "stream": True,
        "ignore_eos": True,
    }
    for attempt in range(2):
        started = time.perf_counter()
        first = last = 0.0
        chunks = 0
        try:
            async with http.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
                response.raise_for_status()
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = orjson.loads(line[6:])
                    choices = chunk.get("choices") or []
                    if choices and (choices[0].get("delta") or {}).get("content"):
                        last = time.perf_counter()
                        first = first or last
                        chunks += 1
        except httpx.RemoteProtocolError:
            # llama-server may close a kept-alive connection just as the next
            # request goes out on it; with no answer yet, the request is sent again.
            if chunks or attempt:
                raise
            continue
        break
    # Both servers send one content chunk per token (UTF-8 permitting).
    return Stream(first - started, last - first, chunks)


async def measure(base_url: str, figures: Figures, round_index: int, pid: int) -> None:
    async with httpx.AsyncClient(timeout=300.0) as http:
        await openai_stream(http, base_url, -1 - round_index)  # warm-up
        base = round_index * 1000
        for i in range(SINGLE_STREAM_REQUESTS):
            result = await openai_stream(http, base_url, base + i)
            figures.single_decode.append(result.decode_rate)
            figures.single_ttft.append(result.ttft)
        for concurrency in (4, 16):
            indexes = [base + 100 + concurrency + i for i in range(concurrency)]

            async def one(prompt: str) -> Stream:
                return await openai_stream(http, base_url, int(prompt))

            figures.aggregate[concurrency].append(await aggregate_rate(one, [str(i) for i in indexes]))
        figures.aggregate_long.append(figures.aggregate[16][-1])
    figures.peak_rss_mib = max(figures.peak_rss_mib, peak_rss_mib(pid))


async def wait_healthy(url: str) -> None:
    async with httpx.AsyncClient(timeout=2.0) as http:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@contextlib.asynccontextmanager
async def llama_server(
    binary: Path,
    model: Path | None,
    extra_flags: tuple[str, ...] = (),
    *,
    slots: int = SLOTS,
    threads: int = THREADS,
) -> AsyncIterator[tuple[str, int]]:
    """`model` None: no `-m` (router mode: `extra_flags` name the models' folder)."""
    port = free_port()
    model_flags = ("-m", str(model)) if model is not None else ()
    # Its log is shown if it fails under the benchmark.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    process = await asyncio.create_subprocess_exec(
        str(binary), *model_flags, "--host", "127.0.0.1", "--port", str(port),
        "-c", str(SLOT_CONTEXT * slots), "-np", str(slots), "-t", str(threads), "-tb", str(threads),
        "-b", "2048", "-ub", "512", "-ctk", "f16", "-ctv", "f16", *OFFLOAD.llama_server_flags(), "--no-webui",
        *extra_flags, stdout=asyncio.subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/health")
        yield f"http://127.0.0.1:{port}", process.pid
    except Exception:
        print_log_tail("llama-server", process, log)
        raise
    finally:
        await stop_processes(process)
        log.close()


def print_log_tail(name: str, process: asyncio.subprocess.Process, log: IO[bytes]) -> None:
    """Shows why a peer failed under a benchmark: its exit status and its log's last lines."""
    log.seek(0)
    tail = log.read().decode(errors="replace").splitlines()[-20:]
    print(f"{name} (exit status {process.returncode}):", *tail, sep="\n  ", file=sys.stderr)


async def stop_processes(*processes: asyncio.subprocess.Process | None, grace_s: float = 30) -> None:
    """Terminates the children still running, all at once; kills any left after grace_s seconds."""
    running = [process for process in processes if process is not None and process.returncode is None]
    for process in running:
        # It may have exited (a Ctrl-C reaches the whole process group) but not been reaped yet.
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
    for process in running:
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def paddler_cluster(
    model: Path,
    projection: Path | None = None,
    *,
    agents: int = 1,
    slots: int = SLOTS,
    threads: int = THREADS,
    balancer_flags: tuple[str, ...] = (),
    agent_flags: tuple[str, ...] = (),
    pools: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """The balancer and its agents as processes; yields the OpenAI URL and the first agent's pid.

    `pools`: model pools to create (or, for "default", settings to put over the desired state
    set here) before the agents start, as `PUT /api/v1/pools/{name}` bodies.
    """
    management, inference, openai = free_port(), free_port(), free_port()
    balancer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "paddler", "balancer",
        "--management-addr", f"127.0.0.1:{management}", "--inference-addr", f"127.0.0.1:{inference}",
        "--compat-openai-addr", f"127.0.0.1:{openai}", *balancer_flags,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    started: list[asyncio.subprocess.Process] = []
    try:
        await wait_healthy(f"http://127.0.0.1:{management}/health")
        state = {
            "model": {"LocalToAgent": str(model)},
            "inference_parameters": {
                "context_size": SLOT_CONTEXT, "n_batch": 2048, "k_cache_dtype": "F16", "v_cache_dtype": "F16",
                "temperature": 0.0, "penalty_repeat": 1.0, "penalty_presence": 0.0,
                "n_gpu_layers": OFFLOAD.gpu_layers,
            },
        }  # fmt: skip
        if projection is not None:
            state["multimodal_projection"] = {"LocalToAgent": str(projection)}
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.put(
                f"http://127.0.0.1:{management}/api/v1/balancer_desired_state", json=state
            )
            response.raise_for_status()
            for name, settings in (pools or {}).items():
                response = await http.put(f"http://127.0.0.1:{management}/api/v1/pools/{name}", json=settings)
                response.raise_for_status()
            for index in range(agents):
                name = "bench" if agents == 1 else f"bench-{index + 1}"
                started.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "paddler", "agent", "--management-addr", f"127.0.0.1:{management}",
                    "--slots", str(slots), "--threads", str(threads), "--name", name, *agent_flags,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                ))  # fmt: skip
            for _ in range(600):
                listed = (await http.get(f"http://127.0.0.1:{management}/api/v1/agents")).json()["agents"]
                if len(listed) == agents and all(agent["slots_total"] == slots for agent in listed):
                    break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the agents did not start serving")
        yield f"http://127.0.0.1:{openai}", started[0].pid
    finally:
        await stop_processes(*started, balancer)


# llama-server queues requests without a deadline; our balancer's buffer
# answers 504 after 10 s by default, which 16 requests on 4 slots outlast.
UNLIMITED_BUFFER = ("--buffered-request-timeout", "1800000")


async def run_ours(model: Path, figures: Figures, round_index: int) -> None:
    async with paddler_cluster(model, balancer_flags=UNLIMITED_BUFFER) as (url, pid):
        await measure(url, figures, round_index, pid)


async def run_theirs(server: Path, model: Path, figures: Figures, round_index: int) -> None:
    async with llama_server(server, model) as (url, pid):
        await measure(url, figures, round_index, pid)


async def main() -> int:
    figures = await alternate_rounds(__doc__ or "", run_ours, run_theirs)
    if figures is None:
        return 2
    print("(peak RSS: the agent process for paddler, the server for llama-server;")
    print(" the last aggregate row repeats the 16-concurrent one: prompts are short here)")
    single, aggregate = report(*figures)
    print(f"single_stream_ratio={single:.3f} aggregate_ratio={aggregate:.3f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(asyncio.run(main()))
