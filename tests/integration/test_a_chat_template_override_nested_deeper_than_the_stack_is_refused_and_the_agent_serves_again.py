"""llama.cpp's jinja parser recurses once per bracket: an expression nested
this deep overflows the stack while the template is compiled. The probe's
process dies of it, not the agent."""

from tests.integration.conftest import Cluster, smollm2_state

DEPTH = 100_000
NESTED = "{{ " + "(" * DEPTH + "1" + ")" * DEPTH + " }}"


async def test_a_chat_template_override_nested_deeper_than_the_stack_is_refused_and_the_agent_serves_again(
    cluster: Cluster,
) -> None:
    await cluster.start_balancer()
    await cluster.serve_smollm2()

    state = smollm2_state()
    state["chat_template_override"] = {"content": NESTED}
    state["use_chat_template_override"] = True
    await cluster.put_state(state)
    agents = await cluster.wait_for_agents(
        lambda agents: agents[0]["state_application_status"] == "AttemptedAndNotAppliable",
        "the nested template to be refused",
    )
    (issue,) = agents[0]["issues"]
    assert "the chat template override was refused" in issue["ChatTemplateDoesNotCompile"], issue
    assert "SIGSEGV" in issue["ChatTemplateDoesNotCompile"], issue
    # Not served with it, nor with the engine it was meant to replace.
    assert agents[0]["slots_total"] == 0

    await cluster.put_state(smollm2_state())
    await cluster.assert_agents_alive_and_serving()
