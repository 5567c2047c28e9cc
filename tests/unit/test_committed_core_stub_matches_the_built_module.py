import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "python" / "paddler" / "_core.pyi"


def test_committed_core_stub_matches_the_built_module(tmp_path: Path) -> None:
    generated = tmp_path / "_core.pyi"
    subprocess.run(
        [sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "paddler._core", "-o", str(generated)],
        check=True,
        cwd=tmp_path,
    )

    assert generated.read_text() == COMMITTED.read_text(), (
        "python/paddler/_core.pyi is stale: regenerate it with "
        "`python -m nanobind.stubgen -m paddler._core -o python/paddler/_core.pyi`"
    )
