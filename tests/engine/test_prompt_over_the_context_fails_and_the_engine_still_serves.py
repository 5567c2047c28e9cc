from paddler.agent import ErrorKind, InferenceEngine, SamplingConfig
from tests.engine.conftest import SHARED_ENGINE_CONFIG
from tests.engine.generation import chat_prompt, collect


async def test_prompt_over_the_context_fails_and_the_engine_still_serves(engine: InferenceEngine) -> None:
    too_long = "apple " * (SHARED_ENGINE_CONFIG.context_size + 10)

    refused = await collect(engine, too_long, SamplingConfig(max_tokens=4))
    served = await collect(engine, chat_prompt("Say hello."), SamplingConfig(temperature=0.0, max_tokens=4))

    assert refused.failed.kind is ErrorKind.PROMPT_TOO_LONG
    assert "context" in refused.failed.message
    assert refused.failed.usage.prompt_tokens > SHARED_ENGINE_CONFIG.context_size
    assert len(served.token_ids) == 4
