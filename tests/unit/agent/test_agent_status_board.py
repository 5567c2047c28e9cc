"""Each balancer connection has its own copy of the board's signals."""

from paddler.agent.agent_status_board import AgentStatusBoard


def test_a_connection_that_clears_its_copy_hides_nothing_from_another() -> None:
    board = AgentStatusBoard(desired_slots_total=1)
    first, second = board.changed.subscribe(), board.changed.subscribe()
    first.clear()
    second.clear()

    board.update(slots_total=1)
    first.clear()  # the first connection sent its status

    assert second.is_set()
    assert board.changed.subscribers == 2
