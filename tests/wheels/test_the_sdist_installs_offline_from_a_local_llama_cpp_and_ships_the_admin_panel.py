import json
import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from tests.wheels.conftest import REPO

LLAMA_CPP = REPO / "third_party" / "llama.cpp"
PANEL = REPO / "python" / "paddler" / "web_admin_panel" / "index.html"


@pytest.mark.slow
@pytest.mark.skipif(
    not LLAMA_CPP.exists() or not PANEL.exists(), reason="needs llama.cpp fetched and the panel built"
)
def test_the_sdist_installs_offline_from_a_local_llama_cpp_and_ships_the_admin_panel(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--no-isolation",
            "--outdir",
            str(tmp_path / "sdist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (sdist,) = (tmp_path / "sdist").glob("paddler-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    root = names[0].split("/")[0]
    assert f"{root}/python/paddler/web_admin_panel/index.html" in names
    assert not [name for name in names if name.startswith(f"{root}/third_party/llama.cpp/")]
    assert not [name for name in names if "/node_modules/" in name]

    # A venv that sees this interpreter's build tools (scikit-build-core, nanobind), nothing from an
    # index (--no-index), llama.cpp from a local tree, and no npm: the panel must come from the sdist.
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("cmake", "ninja", "ccache", "cc", "c++", "gcc", "g++", "ld", "as", "ar", "ranlib", "strip"):
        found = shutil.which(tool)
        if found is not None:
            (tools / tool).symlink_to(found)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    environment["PATH"] = f"{tmp_path / 'venv' / 'bin'}{os.pathsep}{tools}"
    environment["PADDLER_LLAMA_CPP_DIR"] = str(LLAMA_CPP)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation", "--no-deps", str(sdist)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    shipped = subprocess.run(
        [
            str(python),
            "-c",
            "import json, pathlib, paddler, paddler._core as core; "
            "package = pathlib.Path(paddler.__file__).parent; "
            "print(json.dumps({'core': core.__file__, "
            "'panel': (package / 'web_admin_panel' / 'index.html').exists()}))",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(shipped.stdout)
    assert found["core"].startswith(str(tmp_path / "venv")), found
    assert found["panel"] is True
