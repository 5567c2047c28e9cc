from paddler.agent import InferenceEngine, SamplingConfig, TokenKind
from tests.engine.generation import drain


async def test_tokens_inside_an_open_thinking_block_are_classified_as_reasoning(
    thinking_engine: InferenceEngine,
) -> None:
    conversation = [{"role": "user", "content": "Name a colour."}]
    # The template's generation prompt opens <think>; the model never closes
    # it within 12 tokens, so everything it writes is reasoning.
    outcome = await drain(
        thinking_engine.continue_conversation(
            conversation, SamplingConfig(temperature=0.0, max_tokens=12, ignore_eos=True)
        )
    )

    usage = outcome.finished.usage
    assert (await thinking_engine.render_conversation(conversation)).endswith("<think>\n")
    assert usage.reasoning_tokens >= 10
    assert usage.content_tokens == 0
    assert usage.reasoning_tokens + usage.undeterminable_tokens == usage.completion_tokens == 12
    assert outcome.text_by_kind is not None
    assert outcome.text_by_kind.get(TokenKind.REASONING, "").strip()
    assert TokenKind.CONTENT not in outcome.text_by_kind
