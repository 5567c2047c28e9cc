"""Builds llama.cpp's own `llama-server` and `llama-bench` from the same
third_party/llama.cpp tree as our extension, with the same CPU flags, so a
benchmark compares engines and not compilers. The build is cached in
bench/.cache/llama-build (ccache makes a rebuild cheap).

PADDLER_LLAMA_TOOLS_DIR names a folder that already holds both binaries
instead, such as the `bin` folder of our own build tree configured with
-DPADDLER_BUILD_LLAMA_TOOLS=ON: on a GPU, that spares a second compile of the
CUDA kernels.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LLAMA_CPP = Path(os.environ.get("PADDLER_LLAMA_CPP_DIR", REPO / "third_party" / "llama.cpp"))
BUILD_DIR = REPO / "bench" / ".cache" / "llama-build"
TARGETS = ("llama-server", "llama-bench")


def _cpu_flags() -> list[str]:
    # The same choice as our CMakeLists.txt: this CPU, never AMX (the VMs
    # advertise it and fault on it), unless PADDLER_PORTABLE asks for AVX2.
    if os.environ.get("PADDLER_PORTABLE", "OFF").upper() in ("1", "ON", "TRUE"):
        return ["-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"]
    flags = ["-DGGML_NATIVE=ON"]
    if platform.machine() in ("x86_64", "AMD64"):
        no_amx = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
        flags += [f"-DCMAKE_C_FLAGS={no_amx}", f"-DCMAKE_CXX_FLAGS={no_amx}"]
    return flags


def build_peers() -> dict[str, Path]:
    """Returns the paths of llama-server and llama-bench, building them if needed."""
    prebuilt = os.environ.get("PADDLER_LLAMA_TOOLS_DIR")
    if prebuilt:
        found = {name: Path(prebuilt) / name for name in TARGETS}
        missing = [str(path) for path in found.values() if not path.is_file()]
        if missing:
            raise SystemExit(f"PADDLER_LLAMA_TOOLS_DIR lacks {', '.join(missing)}")
        return found
    if not (LLAMA_CPP / "CMakeLists.txt").is_file():
        fetch = [sys.executable, str(REPO / "scripts" / "fetch_llama_cpp.py"), str(LLAMA_CPP)]
        subprocess.run(fetch, check=True)
    binaries = {name: BUILD_DIR / "bin" / name for name in TARGETS}
    configure = [
        "cmake",
        "-S",
        str(LLAMA_CPP),
        "-B",
        str(BUILD_DIR),
        "-DCMAKE_BUILD_TYPE=Release",
        "-DBUILD_SHARED_LIBS=OFF",
        "-DLLAMA_OPENSSL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DLLAMA_BUILD_SERVER=ON",
        "-DLLAMA_BUILD_TOOLS=ON",
        "-DLLAMA_BUILD_UI=OFF",
        "-DLLAMA_USE_PREBUILT_UI=OFF",
        *_cpu_flags(),
    ]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    if shutil.which("ccache"):
        configure += ["-DGGML_CCACHE=ON"]
    # Rebuild when the options change, not only when the binaries are missing.
    stamp = BUILD_DIR / "paddler-configure.txt"
    wanted = "\n".join(configure)
    if all(path.is_file() for path in binaries.values()) and stamp.is_file() and stamp.read_text() == wanted:
        return binaries
    subprocess.run(configure, check=True)
    subprocess.run(
        ["cmake", "--build", str(BUILD_DIR), "--target", *TARGETS, "-j", str(os.cpu_count() or 2)],
        check=True,
    )
    stamp.write_text(wanted)
    return binaries


if __name__ == "__main__":
    for name, path in build_peers().items():
        print(name, path)
