from pathlib import Path

from paddler.agent import EngineConfig, ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.generation import drain
from tests.image_data_urls import image_data_url, image_message
from tests.model_cards import smollm2
from tests.random_projector import IMAGE_TOKENS


async def test_an_image_with_more_tokens_than_a_batch_gets_image_exceeds_batch_size(
    random_projector: Path,
) -> None:
    config = EngineConfig(
        context_size=512, slots=1, n_batch=32, threads=2, multimodal_projection_path=str(random_projector)
    )
    async with await InferenceEngine.load(str(smollm2()), config) as engine:
        outcome = await drain(
            engine.continue_conversation(
                [image_message(image_data_url(seed=1))], SamplingConfig(max_tokens=4)
            )
        )
        text = await drain(
            engine.continue_conversation([{"role": "user", "content": "Hi"}], SamplingConfig(max_tokens=4))
        )

    assert outcome.failed.kind is ErrorKind.IMAGE_EXCEEDS_BATCH_SIZE
    oversized = outcome.failed.oversized_image
    assert oversized is not None
    assert (oversized.image_tokens, oversized.n_batch) == (IMAGE_TOKENS, 32)
    assert text.finished.usage.completion_tokens > 0
