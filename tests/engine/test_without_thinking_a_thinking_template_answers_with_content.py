from paddler.agent import InferenceEngine, SamplingConfig
from tests.engine.generation import drain


async def test_without_thinking_a_thinking_template_answers_with_content(
    thinking_engine: InferenceEngine,
) -> None:
    outcome = await drain(
        thinking_engine.continue_conversation(
            [{"role": "user", "content": "Name a colour."}],
            SamplingConfig(temperature=0.0, max_tokens=12, ignore_eos=True),
            enable_thinking=False,
        )
    )

    assert outcome.finished.usage.reasoning_tokens == 0
    assert outcome.finished.usage.content_tokens > 0
