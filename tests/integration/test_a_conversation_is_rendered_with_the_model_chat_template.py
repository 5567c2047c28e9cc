import orjson

from tests.integration.conftest import Cluster, token_text

# What SmolLM2's own template makes of one user message (its default system prompt included).
SMOLLM2_RENDERED = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
)


async def test_a_conversation_is_rendered_with_the_model_chat_template(cluster: Cluster) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2(agents=1)

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_conversation_history",
        json={
            "add_generation_prompt": True,
            "conversation_history": [
                {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}
            ],
            "enable_thinking": False,
            "max_tokens": 8,
        },
    )

    assert response.status_code == 200
    conversation = token_text([orjson.loads(line) for line in response.text.splitlines()])
    # Greedy decoding: the same prompt text gives the same answer.
    assert conversation
    assert conversation == token_text(await cluster.raw_prompt_lines(SMOLLM2_RENDERED, max_tokens=8))
