import subprocess
import sys


def test_an_unknown_thread_wait_is_refused_by_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paddler", "agent", "--management-addr", "127.0.0.1:1", "--slots", "1",
         "--thread-wait", "doze"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--thread-wait" in result.stderr
