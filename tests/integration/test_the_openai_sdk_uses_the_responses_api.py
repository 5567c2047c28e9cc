import openai

from tests.integration.conftest import Cluster


async def test_the_openai_sdk_uses_the_responses_api(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=2)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused")

    response = await client.responses.create(
        model="m", input="What is the capital of France?", max_output_tokens=6
    )
    stream = await client.responses.create(
        model="m",
        input=[{"role": "user", "content": "What is the capital of France?"}],
        max_output_tokens=6,
        stream=True,
    )
    events = [event async for event in stream]
    await client.close()

    assert response.output_text
    assert response.usage is not None
    assert response.usage.output_tokens == 6
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == response.output_text
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == response.output_text
