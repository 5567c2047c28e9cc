"""How a generation's last response reads on the OpenAI API: its status when it failed (the
client's mistakes 400, the server's 500) and its finish_reason when it did not."""

from typing import Any

import pytest

from paddler.balancer.dispatch.relay_event import RelayFinished
from paddler.balancer.openai_compat.openai_common import Generation
from paddler.protocol.inference_response import usage


def finished(result: dict[str, Any], context_exhausted: bool = False) -> Generation:
    generation = Generation()
    generation.finish(RelayFinished("agent", {"GeneratedToken": result}, context_exhausted))
    return generation


@pytest.mark.parametrize(
    "variant",
    [
        "GrammarSyntaxError",
        "GrammarInitializationFailed",
        "GrammarIncompatibleWithThinking",
        "ToolSchemaInvalid",
        "MultimodalNotSupported",
        "ImageDecodingFailed",
    ],
)
def test_what_the_client_sent_wrong_is_400_with_the_engines_message(variant: str) -> None:
    assert finished({variant: "the engine's words"}).error == (400, f"{variant}: the engine's words")


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"ChatTemplateError": "the template failed"}, "ChatTemplateError: the template failed"),
        ({"SamplerError": "no candidates"}, "SamplerError: no candidates"),
        ({"GrammarRejectedModelOutput": "stuck"}, "GrammarRejectedModelOutput: stuck"),
        ({"ToolCallParseFailed": "bad"}, "ToolCallParseFailed: bad"),
        (
            {"ToolCallValidationFailed": ["a: missing", "b: wrong"]},
            "ToolCallValidationFailed: a: missing; b: wrong",
        ),
        (
            {"UnrecognizedToolCallFormat": {"text": "<call", "ffi_error_message": "no format"}},
            "UnrecognizedToolCallFormat: no format: <call",
        ),
    ],
)
def test_what_the_server_failed_at_is_500(result: dict[str, Any], message: str) -> None:
    assert finished(result).error == (500, message)


def test_an_image_larger_than_the_batch_is_400_with_its_sizes() -> None:
    generation = finished({"ImageExceedsBatchSize": {"image_tokens": 700, "n_batch": 512}})

    assert generation.error is not None
    assert generation.error[0] == 400
    assert "700 tokens" in generation.error[1]
    assert "512" in generation.error[1]


def test_a_generation_that_filled_its_context_ends_with_length_and_one_that_stopped_with_stop() -> None:
    done = {"Done": {"usage": usage(prompt_tokens=5, content_tokens=3)}}

    assert finished(done, context_exhausted=True).finish_reason(limit=100) == "length"
    assert finished(done).finish_reason(limit=100) == "stop"
    assert finished(done).finish_reason(limit=3) == "length"
