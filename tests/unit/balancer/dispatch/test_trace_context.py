import re

from paddler.balancer.dispatch.trace_context import child_traceparent, continue_trace, trace_id_of

INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_keeps_its_trace_id_and_gets_a_new_span() -> None:
    child = child_traceparent(INCOMING)

    assert trace_id_of(child) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.endswith("-01")
    assert child.split("-")[2] != "00f067aa0ba902b7"


def test_a_missing_or_invalid_traceparent_starts_a_new_trace() -> None:
    for incoming in (None, "", "garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01"):
        child = child_traceparent(incoming)

        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", child)
        assert trace_id_of(child) != "0" * 32


def test_a_continued_trace_remembers_the_callers_span_as_its_parent() -> None:
    trace = continue_trace(INCOMING)

    assert trace.parent_span_id == "00f067aa0ba902b7"
    assert trace_id_of(trace.traceparent) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_child_trace_is_a_new_span_under_its_parent_in_the_same_trace() -> None:
    trace = continue_trace(None)
    child = trace.child()

    assert trace.parent_span_id is None
    assert child.parent_span_id == trace.traceparent.split("-")[2]
    assert trace_id_of(child.traceparent) == trace_id_of(trace.traceparent)
    assert child.traceparent != trace.traceparent
