"""Images as `data:` URLs, made on the spot, for the multimodal tests."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image


def image_data_url(seed: int, width: int = 64, height: int = 64, image_format: str = "PNG") -> str:
    """A picture of random colour blocks, different for every seed."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((height // 4 or 1, width // 4 or 1, 1), dtype=np.uint8))
    image = Image.fromarray(pixels[:height, :width], "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    mime = "jpeg" if image_format == "JPEG" else image_format.lower()
    return f"data:image/{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def image_message(url: str, question: str = "What is in this picture?") -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "text", "text": question}, {"type": "image_url", "image_url": {"url": url}}],
    }
