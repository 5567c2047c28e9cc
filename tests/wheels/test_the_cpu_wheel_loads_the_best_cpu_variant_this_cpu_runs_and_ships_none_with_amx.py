import json
from pathlib import Path

from tests.wheels.conftest import WheelVenv, needs_wheel

# ggml's x86 variants (ggml/src/CMakeLists.txt, GGML_CPU_ALL_VARIANTS) by the /proc/cpuinfo
# flags each one's instructions need.
BASE = {"sse4_2"}
AVX = BASE | {"avx"}
HASWELL = AVX | {"f16c", "fma", "avx2", "bmi2"}
AVX512 = HASWELL | {"avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"}
VARIANT_FLAGS = {
    "x64": set(),
    "sse42": BASE,
    "sandybridge": AVX,
    "ivybridge": AVX | {"f16c"},
    "piledriver": AVX | {"f16c", "fma"},
    "haswell": HASWELL,
    "skylakex": AVX512,
    "cannonlake": AVX512 | {"avx512vbmi"},
    "cascadelake": AVX512 | {"avx512_vnni"},
    "icelake": AVX512 | {"avx512vbmi", "avx512_vnni"},
    "cooperlake": AVX512 | {"avx512_vnni", "avx512_bf16"},
    "zen4": AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16"},
    "alderlake": HASWELL | {"avx_vnni"},
    "sapphirerapids": AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"},
}


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    raise AssertionError("no flags line in /proc/cpuinfo")


@needs_wheel("cpu")
def test_the_cpu_wheel_loads_the_best_cpu_variant_this_cpu_runs_and_ships_none_with_amx(
    cpu_wheel: WheelVenv,
) -> None:
    flags = cpu_flags()
    seen = json.loads(cpu_wheel.probe("variants"))
    choices = {choice["name"]: choice for choice in seen["choices"]}
    runnable = {name for name in choices if VARIANT_FLAGS[name] <= flags}
    (chosen,) = [name for name, choice in choices.items() if choice["chosen"]]

    assert "sapphirerapids" not in choices, "the AMX variant is shipped"
    assert set(choices) >= {"haswell", "skylakex", "icelake", "zen4", "alderlake"}
    for name, choice in choices.items():
        assert (choice["score"] > 0) == (name in runnable), (name, choice, VARIANT_FLAGS[name] - flags)
    assert chosen in runnable
    # Nothing that runs here has every instruction of the chosen variant and more.
    assert not [name for name in runnable if VARIANT_FLAGS[name] > VARIANT_FLAGS[chosen]], (chosen, runnable)
    assert choices[chosen]["score"] == max(choices[name]["score"] for name in runnable)
    # This CPU's AMX answer: false wherever the CPU does not even report it.
    if not {"amx_tile", "amx_int8"} <= flags:
        assert seen["amx_usable"] is False
