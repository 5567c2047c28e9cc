import pytest

from tests.integration.conftest import run_bench

RATIOS = {"image_ttft_ratio", "images_per_s_ratio", "text_with_images_ratio", "text_without_images_ratio"}


@pytest.mark.slow
async def test_the_multimodal_benchmark_measures_every_figure_without_errors() -> None:
    # llama-server comes from the same llama.cpp tree as our extension, built once and cached in
    # bench/.cache: the first run builds it (minutes on a small machine), outside the bench's
    # own time limit.
    build = await run_bench("llama_cpp_peers.py", timeout_s=3600.0)
    assert build.returncode == 0, build.report

    # bench/multimodal.py --quick: our balancer and agent and llama-server, each with the random
    # projector, one round of short windows; every image and text request answered.
    run = await run_bench("multimodal.py", "--quick", timeout_s=600.0)

    assert run.returncode == 0, run.report
    assert set(run.figures) == {*RATIOS, "errors"}, run.report
    assert run.figures["errors"] == "0", run.report
    for ratio in RATIOS:
        assert float(run.figures[ratio]) > 0, run.report
