from paddler.balancer.dispatch.agent_circuit_breaker import FAILURE_THRESHOLD
from paddler.balancer.dispatch.agent_controller import AgentController

# Paddler's AgentControllerSnapshot, which its Rust types read with deny_unknown_fields.
PADDLER_AGENT_FIELDS = {
    "desired_slots_total",
    "download_current",
    "download_filename",
    "download_indeterminate",
    "download_total",
    "id",
    "issues",
    "model_path",
    "name",
    "slots_processing",
    "slots_total",
    "state_application_status",
    "uses_chat_template_override",
}


def test_a_healthy_agent_is_listed_with_exactly_paddlers_fields() -> None:
    assert set(AgentController("a", "agent", 2).snapshot()) == PADDLER_AGENT_FIELDS


async def test_the_agent_list_shows_an_open_circuit_breaker_and_hears_when_it_opens() -> None:
    controller = AgentController("a", "agent", 2)
    changes: list[str | None] = []
    controller.status_changes.subscribe(
        lambda changed: changes.append(changed.snapshot().get("circuit_breaker"))
    )

    for _ in range(FAILURE_THRESHOLD):
        controller.record_outcome(succeeded=False)

    assert controller.snapshot()["circuit_breaker"] == "Open"
    assert changes == ["Open"]
    assert controller.slots_total == 0
