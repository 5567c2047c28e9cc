from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from paddler.balancer.dispatch.loop_local_metrics import LoopLocalCounter, LoopLocalHistogram


def _without_created(exposition: bytes) -> list[str]:
    # prometheus_client adds `_created` samples; ours carry none.
    return [line for line in exposition.decode().splitlines() if "_created" not in line]


def test_a_loop_local_histogram_exposes_what_a_prometheus_client_histogram_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    histogram = LoopLocalHistogram("gap_seconds", "A gap", (0.01, 0.1, 1.0), ours)
    reference = Histogram("gap_seconds", "A gap", buckets=(0.01, 0.1, 1.0), registry=theirs)
    for value in (0.001, 0.01, 0.05, 0.5, 7.0):
        histogram.observe(value)
        reference.observe(value)
    histogram.observe(0.2, count=3)
    for _ in range(3):
        reference.observe(0.2)

    assert _without_created(generate_latest(ours)) == _without_created(generate_latest(theirs))


def test_a_loop_local_counter_exposes_what_a_prometheus_client_counter_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counter = LoopLocalCounter("requests", "Requests", "outcome", ours)
    reference = Counter("requests", "Requests", ["outcome"], registry=theirs)
    counter.inc(label_value="ok")
    counter.inc(2, label_value="ok")
    counter.inc(label_value="timeout")
    reference.labels("ok").inc(3)
    reference.labels("timeout").inc()

    assert _without_created(generate_latest(ours)) == _without_created(generate_latest(theirs))


def test_an_unlabelled_loop_local_counter_reads_zero_before_its_first_increment() -> None:
    registry = CollectorRegistry()
    LoopLocalCounter("tokens", "Tokens", None, registry)

    assert "tokens_total 0.0" in generate_latest(registry).decode()


def test_a_labelled_loop_local_histogram_exposes_what_a_prometheus_client_histogram_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    histogram = LoopLocalHistogram("wait_seconds", "A wait", (0.1, 1.0), ours, "pool")
    reference = Histogram("wait_seconds", "A wait", ["pool"], buckets=(0.1, 1.0), registry=theirs)
    for pool, value in (("default", 0.05), ("other", 0.5), ("default", 3.0)):
        histogram.observe(value, label_value=pool)
        reference.labels(pool).observe(value)

    assert _without_created(generate_latest(ours)) == _without_created(generate_latest(theirs))
