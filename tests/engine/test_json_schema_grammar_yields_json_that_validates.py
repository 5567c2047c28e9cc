import jsonschema
import orjson
import pytest

from paddler.agent import InferenceEngine, JsonSchemaGrammar, SamplingConfig
from tests.engine.generation import chat_prompt, drain

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "pets": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
    },
    "required": ["name", "age", "pets"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("shape", ["raw_prompt", "conversation"])
async def test_json_schema_grammar_yields_json_that_validates(engine: InferenceEngine, shape: str) -> None:
    question = "Describe a person as JSON."
    sampling = SamplingConfig(temperature=0.7, seed=11, max_tokens=200)
    grammar = JsonSchemaGrammar(SCHEMA)
    events = (
        engine.generate(chat_prompt(question), sampling, grammar=grammar)
        if shape == "raw_prompt"
        else engine.continue_conversation([{"role": "user", "content": question}], sampling, grammar=grammar)
    )

    outcome = await drain(events)

    assert outcome.finished.usage.completion_tokens < 200
    document = orjson.loads(outcome.text)
    jsonschema.validate(document, SCHEMA)
