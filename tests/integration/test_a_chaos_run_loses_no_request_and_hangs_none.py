from tests.integration.conftest import run_bench


async def test_a_chaos_run_loses_no_request_and_hangs_none() -> None:
    # bench/chaos.py, shortened: 3 agents killed and restarted at random under a steady
    # streaming load, the balancer restarted once; every request ends with Done or a clear error.
    run = await run_bench("chaos.py", "--seconds", "20", "--clients", "4")

    assert run.returncode == 0, run.report
    assert run.figures["lost"] == "0", run.report
    assert run.figures["hung"] == "0", run.report
    assert run.figures["unexplained_502"] == "0", run.report
    assert int(run.figures["sent"]) > 0, run.report
    assert int(run.figures["completed"]) > 0, run.report
