import subprocess
import sys


def test_a_relative_state_database_path_is_refused_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paddler", "balancer", "--state-database", "file://state.json"],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "absolute path" in result.stderr
