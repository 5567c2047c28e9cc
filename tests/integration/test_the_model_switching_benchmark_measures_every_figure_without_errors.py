import pytest

from tests.integration.conftest import run_bench

RATIOS = {"cold_ttft_ratio", "warm_ttft_ratio", "requests_per_s_ratio", "two_agents_ratio"}


@pytest.mark.slow
async def test_the_model_switching_benchmark_measures_every_figure_without_errors() -> None:
    # llama-server, built once from our llama.cpp tree and cached in bench/.cache (the first run
    # builds it, outside the bench's own time limit).
    build = await run_bench("llama_cpp_peers.py", timeout_s=3600.0)
    assert build.returncode == 0, build.report

    # bench/model_switching.py --quick: our pools with one agent and then two, and llama-server
    # in router mode; every request of both sides answered, through every model switch.
    run = await run_bench("model_switching.py", "--quick", timeout_s=600.0)

    assert run.returncode == 0, run.report
    assert set(run.figures) == {*RATIOS, "errors"}, run.report
    assert run.figures["errors"] == "0", run.report
    for ratio in RATIOS:
        assert float(run.figures[ratio]) > 0, run.report
