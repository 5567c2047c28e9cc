import json
import subprocess

from tests.model_cards import smollm2
from tests.wheels.conftest import WheelVenv, needs_wheel


@needs_wheel("cu13")
def test_the_cuda_wheel_takes_cuda_from_nvidias_packages_and_serves_on_the_cpu_without_a_gpu(
    cuda_wheel: WheelVenv,
) -> None:
    where = json.loads(cuda_wheel.probe("where"))
    cuda_module = where["core"].rsplit("/", 1)[0] + "/libpaddler-ggml-cuda.so"
    linked = subprocess.run(["ldd", cuda_module], capture_output=True, text=True, check=True).stdout
    site_packages = str(cuda_wheel.root / "lib")

    # CUDA's runtime and cuBLAS come from NVIDIA's PyPI packages installed beside the wheel.
    for library in ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"):
        (line,) = [line for line in linked.splitlines() if library in line]
        assert "/nvidia/cu13/lib/" in line, line
        assert site_packages in line, line
    assert "not found" not in linked
    # Where no GPU or driver is usable, the CUDA backend says so and the engine runs on the CPU.
    demo = cuda_wheel.run("-m", "paddler", "demo", "--model", str(smollm2()), "--max-tokens", "8")
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "tok/s" in demo.stdout
