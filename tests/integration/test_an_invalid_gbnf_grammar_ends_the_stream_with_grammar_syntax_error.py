import orjson

from tests.integration.conftest import Cluster, chat_prompt


async def test_an_invalid_gbnf_grammar_ends_the_stream_with_grammar_syntax_error(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_raw_prompt",
        json={
            "raw_prompt": chat_prompt("Hi"),
            "max_tokens": 8,
            "grammar": {"type": "gbnf", "grammar": 'root ::= "open', "root": "root"},
        },
    )

    assert response.status_code == 200, response.text
    last = orjson.loads(response.text.splitlines()[-1])
    assert "GrammarSyntaxError" in last["Response"]["response"]["GeneratedToken"]
