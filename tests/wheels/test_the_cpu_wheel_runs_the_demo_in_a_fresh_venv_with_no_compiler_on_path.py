import json
import shutil

from tests.model_cards import smollm2
from tests.wheels.conftest import REPO, WheelVenv, needs_wheel


@needs_wheel("cpu")
def test_the_cpu_wheel_runs_the_demo_in_a_fresh_venv_with_no_compiler_on_path(cpu_wheel: WheelVenv) -> None:
    path = cpu_wheel.environment()["PATH"]
    for compiler in ("cc", "gcc", "g++", "c++", "clang", "cmake"):
        assert shutil.which(compiler, path=path) is None, f"{compiler} is on the venv's PATH"
    where = json.loads(cpu_wheel.probe("where"))
    assert where["core"].startswith(str(cpu_wheel.root)), where
    assert not where["core"].startswith(str(REPO)), where

    demo = cpu_wheel.run("-m", "paddler", "demo", "--model", str(smollm2()), "--max-tokens", "16")

    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "> What is the capital of France?" in demo.stdout
    assert "tok/s" in demo.stdout, demo.stdout
    answer = demo.stdout.split("\n", 1)[1].split("\n\n[", 1)[0]
    assert answer.strip(), demo.stdout
