import re

from tests.integration.conftest import run_bench


async def test_the_balancer_alone_benchmark_measures_every_figure_without_errors() -> None:
    # bench/balancer_alone.py --quick: the real balancer, simulated agents and the lean
    # WebSocket clients; every request of every figure answered, none with an error.
    run = await run_bench("balancer_alone.py", "--quick")

    assert run.returncode == 0, run.report
    assert set(run.figures) == {
        "dispatches_per_s",
        "relayed_tokens_per_s",
        "bytes_per_buffered_request",
        "agents_connected",
    }, run.report
    assert float(run.figures["dispatches_per_s"]) > 0, run.report
    assert float(run.figures["relayed_tokens_per_s"]) > 0, run.report
    assert run.figures["agents_connected"] == "100", run.report
    assert re.findall(r"errors=(\d+)", run.report) == ["0", "0", "0"], run.report
