import jsonschema
import orjson

from tests.integration.conftest import Cluster, chat_prompt, token_text

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 24}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


async def test_a_json_schema_grammar_over_ndjson_yields_json_that_validates(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={
            "raw_prompt": chat_prompt("Describe Paris as JSON."),
            "max_tokens": 120,
            # The official client sends the schema as JSON text.
            "grammar": {"type": "json_schema", "schema": orjson.dumps(SCHEMA).decode()},
        },
    )

    assert response.status_code == 200, response.text
    lines = [orjson.loads(line) for line in response.text.splitlines()]
    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"]
    jsonschema.validate(orjson.loads(token_text(lines)), SCHEMA)
