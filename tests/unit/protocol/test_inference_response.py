import orjson
import pytest

from paddler.protocol.inference_response import envelope_prefix, response_envelope


@pytest.mark.parametrize("generated_by", ["agent-1", None, 'a "quoted" name'])
def test_an_envelope_built_from_its_prefix_is_byte_for_byte_the_serialized_envelope(
    generated_by: str | None,
) -> None:
    response = {"GeneratedToken": {"ContentToken": "Paris\n\u00e9"}}

    built = envelope_prefix("request-1", generated_by) + orjson.dumps(response) + b"}}"

    assert built == orjson.dumps(response_envelope("request-1", generated_by, response))
