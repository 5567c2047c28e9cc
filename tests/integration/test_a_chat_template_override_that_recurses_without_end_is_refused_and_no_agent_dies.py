"""llama.cpp's jinja engine has no recursion limit: rendering this override
overflows the stack of whatever process renders it. The agent tries it in a
process of its own first, refuses it as an issue of the desired state, and
keeps running; so does an agent that joins later."""

from typing import Any

from tests.integration.conftest import Cluster, smollm2_state

RECURSIVE = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"


def refused(agent: dict[str, Any]) -> bool:
    return (
        agent["state_application_status"] == "AttemptedAndNotAppliable"
        and len(agent["issues"]) == 1
        and "the chat template override was refused"
        in agent["issues"][0].get("ChatTemplateDoesNotCompile", "")
    )


async def test_a_chat_template_override_that_recurses_without_end_is_refused_and_no_agent_dies(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    state = smollm2_state()
    state["chat_template_override"] = {"content": RECURSIVE}
    state["use_chat_template_override"] = True
    await cluster.put_state(state)
    cluster.start_agent("agent-0")
    agents = await cluster.wait_for_agents(
        lambda agents: len(agents) == 1 and refused(agents[0]), "the first agent to refuse the template"
    )
    issue = agents[0]["issues"][0]["ChatTemplateDoesNotCompile"]
    assert "SIGSEGV" in issue, issue
    assert "stack overflow" in issue, issue
    assert agents[0]["slots_total"] == 0
    assert agents[0]["model_path"] is None

    cluster.start_agent("agent-1")
    await cluster.wait_for_agents(
        lambda agents: len(agents) == 2 and all(refused(agent) for agent in agents),
        "the agent that joined later to refuse the template too",
    )

    await cluster.put_state(smollm2_state())
    await cluster.assert_agents_alive_and_serving()
