import jsonschema
import openai
import orjson

from tests.integration.conftest import Cluster

SCHEMA = {
    "type": "object",
    "properties": {"colour": {"type": "string", "maxLength": 20}, "hex": {"type": "string", "maxLength": 7}},
    "required": ["colour", "hex"],
    "additionalProperties": False,
}


async def test_the_openai_sdk_gets_json_that_follows_a_response_format_schema(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)

    completion = await client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Give me a colour as JSON."}],
        max_tokens=80,
        response_format={"type": "json_schema", "json_schema": {"name": "colour", "schema": SCHEMA}},
    )
    await client.close()

    content = completion.choices[0].message.content
    assert content is not None
    jsonschema.validate(orjson.loads(content), SCHEMA)
    assert completion.choices[0].finish_reason == "stop"
