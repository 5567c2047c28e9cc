import base64

import pytest

from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message

GREEDY = SamplingConfig(temperature=0.0, max_tokens=4)
# A PNG signature followed by garbage: an image by its first bytes, corrupt after.
CORRUPT_PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 64).decode()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (CORRUPT_PNG, "Failed to decode the image"),
        ("data:image/png;base64,!!!not-base64!!!", "Invalid base64 payload"),
        ("data:image/png;base64", "missing comma separator"),
        ("https://example.invalid/cat.png", "Remote image URLs are not supported"),
        (
            "data:text/plain;base64," + base64.b64encode(b"just some text").decode(),
            "Failed to decode the image",
        ),
    ],
)
async def test_bad_images_get_image_decoding_failed_and_the_engine_still_serves(
    image_engine: InferenceEngine, url: str, expected: str
) -> None:
    outcome = await drain(image_engine.continue_conversation([image_message(url)], GREEDY))

    assert outcome.failed.kind is ErrorKind.IMAGE_DECODING_FAILED
    assert expected in outcome.failed.message
    served = await drain(image_engine.continue_conversation([image_message(image_data_url(seed=3))], GREEDY))
    assert served.finished.usage.completion_tokens > 0
