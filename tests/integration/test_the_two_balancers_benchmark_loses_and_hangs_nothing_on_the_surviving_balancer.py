import pytest

from tests.integration.conftest import run_bench
from tests.integration.ha_cluster import needs_etcd


@needs_etcd
@pytest.mark.slow
async def test_the_two_balancers_benchmark_loses_and_hangs_nothing_on_the_surviving_balancer() -> None:
    # bench/two_balancers.py --quick: one balancer, then two over etcd with one SIGKILLed and
    # restarted under a steady streaming load; real agents serving SmolLM2.
    run = await run_bench("two_balancers.py", "--quick", timeout_s=600.0)

    assert run.returncode == 0, run.report
    assert run.figures["lost_on_b"] == "0", run.report
    assert run.figures["hung_on_b"] == "0", run.report
    assert float(run.figures["ratio"]) > 0, run.report
    assert float(run.figures["restarted_serves_after_s"]) > 0, run.report
