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


def run_agent_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paddler", "agent", "--slots", "1", *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_a_management_address_with_another_scheme_is_refused() -> None:
    result = run_agent_command("--management-addr", "ftp://127.0.0.1:1")
    assert result.returncode == 2
    assert "the scheme must be ws, wss, http or https" in result.stderr


def test_a_tls_ca_is_refused_for_a_plain_management_address_or_an_unreadable_file() -> None:
    plain = run_agent_command("--management-addr", "127.0.0.1:1", "--tls-ca", "/nonexistent.pem")
    assert plain.returncode == 2
    assert "--tls-ca needs a wss://" in plain.stderr
    unreadable = run_agent_command("--management-addr", "wss://127.0.0.1:1", "--tls-ca", "/nonexistent.pem")
    assert unreadable.returncode == 2
    assert "--tls-ca /nonexistent.pem" in unreadable.stderr


def test_a_negative_model_download_ceiling_is_refused() -> None:
    result = run_agent_command("--management-addr", "127.0.0.1:1", "--max-model-download-bytes", "-1")
    assert result.returncode == 2
    assert "--max-model-download-bytes must not be negative" in result.stderr


def test_several_management_addresses_come_repeated_or_comma_separated_in_order_and_once() -> None:
    from paddler.cli.agent_command import management_addresses

    assert management_addresses(["a:1,b:2", "c:3", "a:1"]) == ("a:1", "b:2", "c:3")


def test_an_empty_address_in_a_comma_list_is_refused() -> None:
    result = run_agent_command("--management-addr", "127.0.0.1:1,,127.0.0.1:2")
    assert result.returncode == 2
    assert "has an empty address" in result.stderr


def test_each_of_several_management_addresses_is_checked() -> None:
    result = run_agent_command("--management-addr", "127.0.0.1:1", "--management-addr", "nowhere")
    assert result.returncode == 2
    assert "--management-addr nowhere" in result.stderr
