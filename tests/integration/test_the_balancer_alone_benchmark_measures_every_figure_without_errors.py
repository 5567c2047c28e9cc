import asyncio
import re
import sys
from pathlib import Path

BALANCER_ALONE = Path(__file__).parents[2] / "bench" / "balancer_alone.py"


async def test_the_balancer_alone_benchmark_measures_every_figure_without_errors() -> None:
    # bench/balancer_alone.py --quick: the real balancer, simulated agents and the lean
    # WebSocket clients; every request of every figure answered, none with an error.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BALANCER_ALONE),
        "--quick",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    report = output.decode()

    assert process.returncode == 0, report
    figures = dict(field.split("=") for field in report.strip().splitlines()[-1].split())
    assert set(figures) == {
        "dispatches_per_s",
        "relayed_tokens_per_s",
        "bytes_per_buffered_request",
        "agents_connected",
    }, report
    assert float(figures["dispatches_per_s"]) > 0, report
    assert float(figures["relayed_tokens_per_s"]) > 0, report
    assert figures["agents_connected"] == "100", report
    assert re.findall(r"errors=(\d+)", report) == ["0", "0", "0"], report
