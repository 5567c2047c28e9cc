"""A generation that fills its slot's context was cut short: on the OpenAI API its finish_reason
is "length" (as llama-server says), streaming or not, not "stop". Paddler's API has no such
ending and gets a plain Done with exactly Paddler's fields: the agent's marker stays inside."""

import openai
from openai.types.chat import ChatCompletionMessageParam

from tests.integration.conftest import Cluster, chat_prompt

CONTEXT = 96


async def test_a_generation_that_fills_the_context_ends_with_finish_reason_length(cluster: Cluster) -> None:
    await cluster.start_balancer("--compat-openai-addr", cluster.openai_addr)
    await cluster.serve_smollm2(agents=1, slots=1, context_size=CONTEXT)
    client = openai.AsyncOpenAI(base_url=cluster.openai_url, api_key="unused", max_retries=0)
    # No max_tokens: only the context stops it (ignore_eos keeps SmolLM2 from ending first).
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Tell me a long story."}]
    extra = {"ignore_eos": True}

    completion = await client.chat.completions.create(model="m", messages=messages, extra_body=extra)
    stream = await client.chat.completions.create(
        model="m",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_body=extra,
    )
    chunks = [chunk async for chunk in stream]
    text = await client.completions.create(
        model="m", prompt="Once upon a time", max_tokens=1000, extra_body=extra
    )
    stopped = await client.chat.completions.create(model="m", messages=messages, max_tokens=3)
    await client.close()

    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens + completion.usage.completion_tokens >= CONTEXT
    finishes = [choice.finish_reason for chunk in chunks for choice in chunk.choices if choice.finish_reason]
    assert finishes == ["length"]
    assert text.choices[0].finish_reason == "length"
    # max_tokens reached is "length" too; the context was not what ended it.
    assert stopped.choices[0].finish_reason == "length"

    lines = await cluster.raw_prompt_lines(chat_prompt("Tell me a long story."), max_tokens=1000)
    last = lines[-1]["Response"]["response"]["GeneratedToken"]
    assert list(last) == ["Done"]
    assert list(last["Done"]) == ["usage"]
    assert last["Done"]["usage"]["prompt_tokens"] + last["Done"]["usage"]["content_tokens"] >= CONTEXT
