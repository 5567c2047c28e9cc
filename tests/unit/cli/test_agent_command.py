import subprocess
import sys

from paddler.cli.agent_command import apply_thread_wait


def test_sleep_makes_idle_llama_threads_wait_passively() -> None:
    environ: dict[str, str] = {}
    apply_thread_wait("sleep", environ)
    assert environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_an_explicit_environment_choice_is_kept() -> None:
    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    apply_thread_wait("sleep", environ)
    assert environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_an_unknown_thread_wait_is_refused_by_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paddler", "agent", "--management-addr", "127.0.0.1:1", "--slots", "1",
         "--thread-wait", "doze"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--thread-wait" in result.stderr
