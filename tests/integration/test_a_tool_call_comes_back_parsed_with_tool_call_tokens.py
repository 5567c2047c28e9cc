import orjson

from tests.engine.chat_templates import HERMES_TOOLS, WEATHER_TOOL
from tests.integration.conftest import Cluster

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'


async def test_a_tool_call_comes_back_parsed_with_tool_call_tokens(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2_with_template(HERMES_TOOLS)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_conversation_history",
        json={
            "add_generation_prompt": True,
            "conversation_history": [{"role": "user", "content": "Weather in Rome?"}],
            "enable_thinking": False,
            "max_tokens": 80,
            "tools": [WEATHER_TOOL],
            # Makes the model write exactly this call: the parsing is under test.
            "grammar": {"type": "gbnf", "grammar": "root ::= " + orjson.dumps(CALL).decode(), "root": "root"},
        },
    )

    assert response.status_code == 200, response.text
    results = [
        orjson.loads(line)["Response"]["response"]["GeneratedToken"] for line in response.text.splitlines()
    ]
    tool_text = "".join(result.get("ToolCallToken", "") for result in results)
    [parsed] = [result["ToolCallParsed"] for result in results if "ToolCallParsed" in result]
    assert tool_text == CALL
    assert parsed[0]["name"] == "get_weather"
    assert parsed[0]["arguments"] == {"ValidJson": {"city": "Rome"}}
    assert results[-1]["Done"]["usage"]["tool_call_tokens"] > 0
