import orjson
from openai.types import CompletionUsage

from paddler.balancer.dispatch.relay_event import RelayFinished
from paddler.balancer.openai_compat.openai_common import Generation, openai_stream_error
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


def test_an_error_that_ends_a_stream_carries_its_status_as_a_string_code() -> None:
    event = openai_stream_error(502, "the connection to agent a closed mid-stream")

    assert event.startswith(b"data: ")
    assert event.endswith(b"\n\n")
    error = orjson.loads(event[len(b"data: ") :])["error"]
    assert error == {
        "message": "the connection to agent a closed mid-stream",
        "type": "server_error",
        "param": None,
        "code": "502",
    }
