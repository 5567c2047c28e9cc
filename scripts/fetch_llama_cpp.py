"""Fetch the llama.cpp source tree this project builds against.

llama.cpp is not committed. We take the tree that the `llama-cpp-python`
sdist vendors, because PyPI is reachable wherever pip is, and pin it by
sha256 so every build compiles exactly the same llama.cpp (commit 0c1e570).

Usage: python scripts/fetch_llama_cpp.py <destination>
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST_REQUIREMENT = "llama-cpp-python==0.3.36"
SDIST_NAME = "llama_cpp_python-0.3.36.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
VENDORED_PREFIX = "llama_cpp_python-0.3.36/vendor/llama.cpp/"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_sdist(into: Path) -> Path:
    # pip reads the sdist's metadata with its build backend, scikit-build-core.
    # Inside our own build (CMake runs this script) it is importable: no
    # isolated environment is made for it. Anywhere else (a benchmark run
    # after `pip install .`) pip fetches it into one, as a wheel: only
    # llama-cpp-python is taken as source, since building the backend's own
    # dependencies from source is slow. --no-deps: only the archive.
    isolation = [] if importlib.util.find_spec("scikit_build_core") is None else ["--no-build-isolation"]
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet",
            "--no-binary", "llama-cpp-python", "--no-deps", *isolation,
            "-d", str(into), SDIST_REQUIREMENT,
        ],
        check=True,
    )
    archive = into / SDIST_NAME
    if not archive.is_file():
        raise SystemExit(f"pip download did not produce {SDIST_NAME} in {into}")
    return archive


def unpack_vendored_tree(archive: Path, destination: Path) -> None:
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.name.startswith(VENDORED_PREFIX):
                continue
            member.name = member.name[len(VENDORED_PREFIX):]
            if not member.name:
                continue
            tar.extract(member, staging, filter="data")
    # Rename last so an interrupted fetch never leaves a half tree that a
    # later build would mistake for a complete one.
    staging.rename(destination)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    destination = Path(sys.argv[1]).resolve()
    if (destination / "CMakeLists.txt").is_file():
        return 0
    with tempfile.TemporaryDirectory(prefix="paddler-llama-") as tmp:
        archive = download_sdist(Path(tmp))
        actual = sha256_of(archive)
        if actual != SDIST_SHA256:
            raise SystemExit(
                f"{SDIST_NAME}: sha256 {actual} does not match the pinned {SDIST_SHA256}"
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        unpack_vendored_tree(archive, destination)
    print(f"llama.cpp unpacked into {destination}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
