import subprocess
import sys
from pathlib import Path


def run_balancer_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paddler", "balancer", "--management-addr", "127.0.0.1:0",
         "--inference-addr", "127.0.0.1:0", *args],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_a_tls_certificate_without_its_key_is_refused() -> None:
    result = run_balancer_command("--tls-cert", "/nonexistent.pem")
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr


def test_tls_files_that_cannot_be_used_are_refused_before_anything_starts(tmp_path: Path) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_text("not a certificate")
    result = run_balancer_command("--tls-cert", str(certificate), "--tls-key", str(tmp_path / "missing.pem"))
    assert result.returncode == 2
    assert f"cannot use --tls-cert {certificate}" in result.stderr
