"""The pytest-benchmark suite in bench/ must not rot: each benchmark runs once, unmeasured
(`--benchmark-disable`), and passes: none fails, errs or is skipped."""

import ast
import subprocess
import sys

import pytest

from tests.integration.conftest import BENCH

pytest.importorskip(
    "pytest_benchmark", reason="pytest-benchmark is not installed (the test extra installs it)"
)


def benchmarks_defined() -> int:
    """The test functions of bench/test_*.py: counted, so that a benchmark added is expected too."""
    return sum(
        1
        for path in BENCH.glob("test_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    )


@pytest.mark.slow
def test_the_pytest_benchmark_suite_runs_each_benchmark_once() -> None:
    expected = benchmarks_defined()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "bench", "--benchmark-disable", "-q", "-p", "no:cacheprovider"],
        # From the repository's root: its pytest configuration (warnings are errors) applies.
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = run.stdout + run.stderr

    assert run.returncode == 0, report
    assert expected > 0
    summary = report.strip().splitlines()[-1]
    assert summary.startswith(f"{expected} passed in "), report
