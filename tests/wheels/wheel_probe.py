"""Run by a wheel's own interpreter (a fresh venv), never imported by the tests.

    python wheel_probe.py where                  -> where paddler was imported from
    python wheel_probe.py variants               -> the CPU variants the loader saw, AMX usable
    python wheel_probe.py tinyblas MODEL         -> tinyBLAS products: a default, a deterministic engine
    python wheel_probe.py greedy MODEL GPU_LAYERS -> the backend devices, 12 greedy tokens

Prints one JSON object. Only the standard library and the installed paddler are used.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

PROMPT = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nName the planets of the solar system.<|im_end|>\n<|im_start|>assistant\n"
)


def where() -> dict[str, Any]:
    import paddler
    from paddler import _core

    return {"paddler": paddler.__file__, "core": _core.__file__}


def variants() -> dict[str, Any]:
    from paddler import _core

    choices = [
        {"name": v.name, "score": v.score, "refused": v.refused, "chosen": v.chosen}
        for v in _core.cpu_variant_choices()
    ]
    return {"choices": choices, "amx_usable": _core.amx_usable()}


async def generate(model: str, deterministic: bool, gpu_layers: int, max_tokens: int) -> list[int]:
    from paddler.agent import (
        EngineConfig,
        FlashAttention,
        GenerationFailed,
        InferenceEngine,
        SamplingConfig,
        TokenGenerated,
    )

    # Flash attention off: the attention scores are matrix products too, in F16, a type tinyBLAS
    # takes on every x86-64 CPU it is built for.
    config = EngineConfig(
        context_size=512,
        slots=2,
        threads=2,
        n_gpu_layers=gpu_layers,
        deterministic=deterministic,
        flash_attention=FlashAttention.DISABLED,
    )
    engine = await InferenceEngine.load(model, config)
    tokens: list[int] = []
    try:
        async for event in engine.generate(PROMPT, SamplingConfig(temperature=0.0, max_tokens=max_tokens)):
            if isinstance(event, TokenGenerated) and event.token_id >= 0:
                tokens.append(event.token_id)
            elif isinstance(event, GenerationFailed):
                raise RuntimeError(f"{event.kind}: {event.message}")
    finally:
        await engine.close()
    return tokens


def tinyblas(model: str) -> dict[str, Any]:
    from paddler import _core

    before = _core.tinyblas_products()
    asyncio.run(generate(model, deterministic=False, gpu_layers=0, max_tokens=4))
    after_default = _core.tinyblas_products()
    asyncio.run(generate(model, deterministic=True, gpu_layers=0, max_tokens=4))
    after_deterministic = _core.tinyblas_products()
    return {
        "default": after_default - before,
        "deterministic": after_deterministic - after_default,
        "available": _core.deterministic_kernels_available(),
    }


def devices() -> list[dict[str, Any]]:
    from paddler.agent import backend_devices

    return [
        {"name": d.name, "kind": d.kind.name, "description": d.description, "free": d.memory_free}
        for d in backend_devices()
    ]


def greedy(model: str, gpu_layers: int) -> dict[str, Any]:
    tokens = asyncio.run(generate(model, deterministic=False, gpu_layers=gpu_layers, max_tokens=12))
    return {"devices": devices(), "tokens": tokens}


def main() -> None:
    command = sys.argv[1]
    if command == "where":
        result = where()
    elif command == "variants":
        result = variants()
    elif command == "tinyblas":
        result = tinyblas(sys.argv[2])
    elif command == "greedy":
        result = greedy(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
