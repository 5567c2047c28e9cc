from paddler.balancer.dispatch.agent_circuit_breaker import AgentCircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_repeated_failures_open_the_breaker_until_it_half_opens() -> None:
    clock = Clock()
    breaker = AgentCircuitBreaker(failure_threshold=3, open_s=5.0, clock=clock)

    assert [breaker.record_failure() for _ in range(3)] == [False, False, True]
    assert breaker.is_open
    clock.now += 5.0
    assert not breaker.is_open


def test_a_failure_when_half_open_opens_it_again_and_a_success_closes_it() -> None:
    clock = Clock()
    breaker = AgentCircuitBreaker(failure_threshold=2, open_s=1.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now += 1.0

    assert breaker.record_failure()
    assert breaker.is_open
    clock.now += 1.0
    breaker.record_success()
    assert not breaker.record_failure()
    assert not breaker.is_open


def test_successes_in_between_keep_it_closed() -> None:
    breaker = AgentCircuitBreaker(failure_threshold=2, open_s=1.0, clock=Clock())

    for _ in range(5):
        breaker.record_failure()
        breaker.record_success()

    assert not breaker.is_open


def test_the_state_goes_closed_open_half_open_closed() -> None:
    clock = Clock()
    breaker = AgentCircuitBreaker(failure_threshold=1, open_s=1.0, clock=clock)
    states = [breaker.state]
    breaker.record_failure()
    states.append(breaker.state)
    clock.now += 1.0
    states.append(breaker.state)
    breaker.record_success()
    states.append(breaker.state)
    assert states == ["Closed", "Open", "HalfOpen", "Closed"]
