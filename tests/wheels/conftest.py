"""The built wheels (scripts/build_wheel.py), each installed into a fresh venv of its own.

A wheel is looked for in PADDLER_WHEEL_DIR (default: dist/). The tests of a backend whose
wheel was not built are skipped, except the CPU and Vulkan wheels' under CI, which scripts/test.sh
builds first: there a missing wheel fails. The venv's interpreter runs with its own bin/ as the only
PATH entry (no compiler, no system tools) and without PYTHONPATH, from a scratch directory, so
nothing of the source tree can stand in for the installed package.
"""

from __future__ import annotations

import os
import subprocess
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHEEL_DIR = Path(os.environ.get("PADDLER_WHEEL_DIR", str(REPO / "dist")))
PROBE = Path(__file__).resolve().parent / "wheel_probe.py"


def wheel_for(label: str) -> Path | None:
    """The newest wheel built for a backend (its version's local label: cpu, vulkan, cu12)."""
    wheels = sorted(WHEEL_DIR.glob(f"paddler-*+{label}-*.whl"), key=lambda path: path.stat().st_mtime)
    return wheels[-1] if wheels else None


def needs_wheel(label: str) -> pytest.MarkDecorator:
    # scripts/test.sh builds both under CI (.ci/run installs what the Vulkan build needs).
    required_here = label in {"cpu", "vulkan"} and os.environ.get("CI") == "true"
    return pytest.mark.skipif(
        wheel_for(label) is None and not required_here,
        reason=f"no {label} wheel in {WHEEL_DIR}: python scripts/build_wheel.py --backend {label}",
    )


@dataclass(frozen=True)
class WheelVenv:
    root: Path
    wheel: Path
    scratch: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def environment(self, **extra: str) -> dict[str, str]:
        environment = {
            key: value
            for key, value in os.environ.items()
            if key not in {"PYTHONPATH", "PATH", "VIRTUAL_ENV", "PYTHONHOME"}
        }
        environment["PATH"] = str(self.root / "bin")
        environment["VIRTUAL_ENV"] = str(self.root)
        environment.update(extra)
        return environment

    def run(self, *arguments: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *arguments],
            cwd=self.scratch,
            env=self.environment(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def probe(self, *arguments: str, timeout: float = 300, **extra: str) -> str:
        completed = self.run(str(PROBE), *arguments, timeout=timeout, **extra)
        assert completed.returncode == 0, completed.stderr[-3000:]
        return completed.stdout.strip().splitlines()[-1]


def install_into_fresh_venv(wheel: Path, where: Path) -> WheelVenv:
    venv.EnvBuilder(with_pip=True, clear=True).create(where / "venv")
    root = where / "venv"
    scratch = where / "scratch"
    scratch.mkdir()
    # The wheel's dependencies come from the package index, as for a user.
    subprocess.run(
        [
            str(root / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        cwd=scratch,
        timeout=900,
    )
    return WheelVenv(root, wheel, scratch)


def venv_fixture(label: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WheelVenv]:
    wheel = wheel_for(label)
    if wheel is None:
        pytest.fail(f"no {label} wheel in {WHEEL_DIR}: python scripts/build_wheel.py --backend {label}")
    yield install_into_fresh_venv(wheel, tmp_path_factory.mktemp(f"{label}-wheel"))


@pytest.fixture(scope="session")
def cpu_wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WheelVenv]:
    yield from venv_fixture("cpu", tmp_path_factory)


@pytest.fixture(scope="session")
def vulkan_wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WheelVenv]:
    yield from venv_fixture("vulkan", tmp_path_factory)


@pytest.fixture(scope="session")
def cuda_wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WheelVenv]:
    yield from venv_fixture("cu13", tmp_path_factory)
