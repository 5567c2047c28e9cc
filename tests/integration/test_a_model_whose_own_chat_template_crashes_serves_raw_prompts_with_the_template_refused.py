"""A GGUF is as untrusted as an override (a URL can serve anything): a model
whose own chat template recurses without end is served for raw prompts, its
template refused and shown as an issue; conversations fail with
ChatTemplateError instead of taking the agent down."""

from pathlib import Path

import orjson

from tests.integration.conftest import GENERATION_BODIES, Cluster, smollm2_state
from tests.model_cards import smollm2

RECURSIVE = b"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"
KEY = b"tokenizer.chat_template"


def with_own_template(model: Path, template: bytes, copy: Path) -> Path:
    """A copy of `model` whose tokenizer.chat_template is `template`, padded with
    spaces to the old one's length so that no offset in the file moves."""
    content = bytearray(model.read_bytes())
    at = content.index(KEY) + len(KEY)
    assert content[at : at + 4] == b"\x08\x00\x00\x00"  # a GGUF string
    length = int.from_bytes(content[at + 4 : at + 12], "little")
    assert len(template) <= length
    start = at + 12
    content[start : start + length] = template.ljust(length)
    copy.write_bytes(content)
    return copy


async def test_a_model_whose_own_chat_template_crashes_serves_raw_prompts_with_the_template_refused(
    cluster: Cluster,
) -> None:
    model = with_own_template(smollm2(), RECURSIVE, cluster.tmp_path / "recursive-template.gguf")
    await cluster.start_balancer()
    await cluster.put_state(
        {
            "model": {"LocalToAgent": str(model)},
            "inference_parameters": {"context_size": 1024, "temperature": 0.0},
        }
    )
    cluster.start_agent("agent-0")
    agents = await cluster.wait_for_serving_agents(1)
    (issue,) = agents[0]["issues"]
    assert "the model's chat template was refused" in issue["ChatTemplateDoesNotCompile"], issue
    assert "SIGSEGV" in issue["ChatTemplateDoesNotCompile"], issue

    lines = await cluster.raw_prompt_lines("Hello", max_tokens=2)
    assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"], lines[-1]

    response = await cluster.http.post(
        f"{cluster.inference_url}/api/v1/continue_from_conversation_history",
        json=GENERATION_BODIES["/api/v1/continue_from_conversation_history"],
    )
    assert "ChatTemplateError" in response.text, response.text
    assert "the model's chat template was refused" in response.text, response.text
    assert [orjson.loads(line) for line in response.text.splitlines() if line]

    await cluster.put_state(smollm2_state())
    # The agent serves (raw prompts) already: wait for the new model, not just a serving agent.
    await cluster.wait_for_agents(
        lambda agents: agents[0]["model_path"] == str(smollm2()) and agents[0]["issues"] == [],
        "SmolLM2 with its own template to be served",
    )
    await cluster.assert_agents_alive_and_serving()
