from paddler.balancer.agent_circuit_breaker import FAILURE_THRESHOLD
from paddler.balancer.agent_controller import AgentController


async def test_the_agent_list_shows_the_circuit_breaker_and_hears_when_it_opens() -> None:
    controller = AgentController("a", "agent", 2)
    changes: list[str] = []
    controller.on_status_changed = lambda changed: changes.append(changed.snapshot()["circuit_breaker"])
    assert controller.snapshot()["circuit_breaker"] == "Closed"

    for _ in range(FAILURE_THRESHOLD):
        controller.record_outcome(succeeded=False)

    assert controller.snapshot()["circuit_breaker"] == "Open"
    assert changes == ["Open"]
    assert controller.slots_total == 0
