from paddler.agent import FinishReason, InferenceEngine, SamplingConfig
from tests.engine.generation import chat_prompt, collect


async def test_max_tokens_is_honoured(engine: InferenceEngine) -> None:
    outcome = await collect(
        engine,
        chat_prompt("Tell me a long story about a dragon."),
        SamplingConfig(temperature=0.0, max_tokens=5),
    )

    assert outcome.finished.reason is FinishReason.MAX_TOKENS
    assert len(outcome.token_ids) == 5
    assert outcome.finished.usage.completion_tokens == 5
