"""Small PNG images made in code, for tests and benchmarks that send images (no imaging
library is needed: a PNG is a few zlib-compressed rows and three chunks)."""

from __future__ import annotations

import base64
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_image(width: int, height: int, seed: int = 0) -> bytes:
    """An RGB PNG of colour gradients; another `seed` gives other pixels."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # no filter
        for x in range(width):
            rows += bytes(
                (
                    (x * 255 // max(width - 1, 1) + seed * 97) % 256,
                    (y * 255 // max(height - 1, 1) + seed * 31) % 256,
                    ((x + y) * 7 + seed * 53) % 256,
                )
            )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows)))
        + _chunk(b"IEND", b"")
    )


def png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
