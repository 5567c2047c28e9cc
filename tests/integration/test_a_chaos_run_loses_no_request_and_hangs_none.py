import asyncio
import sys
from pathlib import Path

CHAOS = Path(__file__).parents[2] / "bench" / "chaos.py"


async def test_a_chaos_run_loses_no_request_and_hangs_none() -> None:
    # bench/chaos.py, shortened: 3 agents killed and restarted at random under a steady
    # streaming load, the balancer restarted once; every request ends with Done or a clear error.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHAOS),
        "--seconds",
        "20",
        "--clients",
        "4",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    report = output.decode()

    figures = dict(field.split("=") for field in report.strip().splitlines()[-1].split())
    assert process.returncode == 0, report
    assert figures["lost"] == "0", report
    assert figures["hung"] == "0", report
    assert int(figures["sent"]) > 0, report
    assert int(figures["completed"]) > 0, report
