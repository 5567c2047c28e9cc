import socket
import subprocess
import sys


def test_a_busy_address_is_refused_with_a_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "paddler",
                "balancer",
                "--inference-addr",
                f"127.0.0.1:{port}",
                "--management-addr",
                "127.0.0.1:0",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: the inference service cannot listen on 127.0.0.1:{port}: Address already in use"
    )
