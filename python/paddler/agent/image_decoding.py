"""Turns the image_url parts of a conversation into the pixels a multimodal projector takes.

As in Paddler: only `data:` URLs (base64) are taken, never fetched from elsewhere, and an image
larger than `image_resize_to_fit` on either side is scaled down (Lanczos) to fit, keeping its
aspect ratio. Any format Pillow reads is taken (PNG, JPEG, GIF, BMP, WebP, TIFF, ...).

Untrusted input has bounds, each named in its refusal: the bytes of one image, and the pixels of
one image and of all the images of a conversation, read from each image's header before its
pixels are decoded (a small file can announce a huge image).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from PIL import Image

# The bytes of one image after base64 decoding (OpenAI takes images of up to 20 MB).
MAX_IMAGE_BYTES: Final = 20 * 2**20
# Width times height of one image, and of all the images of one conversation.
MAX_IMAGE_PIXELS: Final = 50_000_000
MAX_CONVERSATION_IMAGE_PIXELS: Final = 200_000_000


class ImageDecodingError(ValueError):
    """The image cannot be served; the message says why (the client's fault)."""


@dataclass(frozen=True, slots=True)
class DecodedImage:
    width: int
    height: int
    pixels: bytes  # RGB, row by row
    # Equal for equal pixels: a slot that holds this image reuses it.
    id: str


def image_urls(conversation: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """The URL of every image_url part, message by message, part by part (the engine's order)."""
    for message in conversation:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                image_url = part.get("image_url")
                url = image_url.get("url") if isinstance(image_url, Mapping) else None
                yield url if isinstance(url, str) else ""


def without_image_data(conversation: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with each image part's URL emptied: the engine gets the pixels apart."""
    stripped = []
    for message in conversation:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {"type": "image_url", "image_url": {"url": ""}}
                if isinstance(part, Mapping) and part.get("type") == "image_url"
                else part
                for part in content
            ]
        stripped.append({**message, "content": content})
    return stripped


def decode_images(urls: Sequence[str], resize_to_fit: int) -> list[DecodedImage]:
    """Raises ImageDecodingError. Blocks (decoding and scaling): call it off the event loop."""
    images = []
    pixels_left = MAX_CONVERSATION_IMAGE_PIXELS
    for index, url in enumerate(urls):
        try:
            image = _decode(url, resize_to_fit, pixels_left)
        except ImageDecodingError as error:
            raise ImageDecodingError(f"image {index + 1}: {error}") from error
        pixels_left -= image.source_pixels
        images.append(image.decoded)
    return images


@dataclass(frozen=True, slots=True)
class _Decoded:
    decoded: DecodedImage
    source_pixels: int


def _decode(url: str, resize_to_fit: int, pixels_left: int) -> _Decoded:
    if not url.startswith("data:"):
        # Paddler's own words: the agent fetches nothing.
        raise ImageDecodingError(
            "Remote image URLs are not supported. Use base64 data URIs (data:image/...;base64,...) instead."
        )
    _metadata, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise ImageDecodingError("Invalid data URI: missing comma separator")
    if len(payload) // 4 * 3 > MAX_IMAGE_BYTES:
        raise ImageDecodingError(
            f"the image is larger than {MAX_IMAGE_BYTES} bytes, the most one image may be"
        )
    try:
        data = base64.b64decode(payload, validate=True)
    except binascii.Error as error:
        raise ImageDecodingError(f"Invalid base64 payload: {error}") from error
    try:
        with Image.open(io.BytesIO(data)) as opened:
            # The header alone, so far: the size is known before any pixel is decoded.
            width, height = opened.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ImageDecodingError(
                    f"the image is {width}x{height} pixels, more than {MAX_IMAGE_PIXELS} pixels, "
                    "the most one image may have"
                )
            if width * height > pixels_left:
                raise ImageDecodingError(
                    f"the images of the conversation have more than {MAX_CONVERSATION_IMAGE_PIXELS} "
                    "pixels in all, the most one conversation may have"
                )
            # JPEG decodes straight at a fraction of its size when that still fits.
            opened.draft("RGB", (resize_to_fit, resize_to_fit))
            image: Image.Image = opened
            if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
                # Through RGBA: a palette's transparency is then dropped without a warning.
                image = image.convert("RGBA")
            image = image.convert("RGB")
    except ImageDecodingError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow's own guard, at twice its limit, fires as the header is read.
        raise ImageDecodingError(
            f"the image has more than {MAX_IMAGE_PIXELS} pixels, the most one image may have ({error})"
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow says "cannot identify image file" for what is no image at all.
        raise ImageDecodingError(f"Failed to decode the image: {error}") from error
    if max(image.size) > resize_to_fit:
        image.thumbnail((resize_to_fit, resize_to_fit), Image.Resampling.LANCZOS)
    pixels = image.tobytes()
    digest = hashlib.sha256(f"{image.width}x{image.height}:".encode())
    digest.update(pixels)
    return _Decoded(DecodedImage(image.width, image.height, pixels, digest.hexdigest()), width * height)
