from openai.types import CompletionUsage

from paddler.balancer.openai_common import Generation
from paddler.balancer.request_relay import RelayFinished
from paddler.protocol.inference_response import usage


def test_openai_usage_always_carries_the_token_details() -> None:
    generation = Generation()
    counts = usage(prompt_tokens=7, content_tokens=3, reasoning_tokens=2)
    generation.finish(RelayFinished("agent", {"GeneratedToken": {"Done": {"usage": counts}}}))

    parsed = CompletionUsage.model_validate(generation.openai_usage())

    assert (parsed.prompt_tokens, parsed.completion_tokens, parsed.total_tokens) == (7, 5, 12)
    assert parsed.prompt_tokens_details is not None
    assert parsed.prompt_tokens_details.cached_tokens == 0
    assert parsed.completion_tokens_details is not None
    assert parsed.completion_tokens_details.reasoning_tokens == 2
