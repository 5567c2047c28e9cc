"""Vector helpers for the embedding tests."""

from __future__ import annotations

import math
from collections.abc import Sequence


def l2_norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (l2_norm(a) * l2_norm(b))
