import base64
import struct
import zlib

from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from paddler.agent.image_decoding import MAX_IMAGE_PIXELS
from tests.engine.generation import drain
from tests.image_data_urls import image_message


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header announces `width` x `height` pixels, with no pixel data: a tiny file
    that would make a careless decoder allocate the announced size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


async def test_an_image_announcing_more_pixels_than_allowed_is_refused_before_decoding(
    image_engine: InferenceEngine,
) -> None:
    # Past our limit, and past Pillow's own guard (which fires as the header is read).
    for width, height in ((10_000, 6_000), (100_000, 100_000)):
        url = "data:image/png;base64," + base64.b64encode(png_header_only(width, height)).decode()

        outcome = await drain(
            image_engine.continue_conversation([image_message(url)], SamplingConfig(max_tokens=4))
        )

        assert outcome.failed.kind is ErrorKind.IMAGE_DECODING_FAILED
        assert str(MAX_IMAGE_PIXELS) in outcome.failed.message
