"""The chat template probe's own short-lived process:

    python -m paddler.agent.chat_template_probe_process MODEL_PATH MEMORY_BYTES CPU_SECONDS < TEMPLATE

It limits itself first, then renders the representative conversations through
the native probe (csrc/core/chat_template_probe.hpp) and prints one JSON line
with what it saw. A template that crashes llama.cpp kills only this process;
see chat_template_probe.py for how its end is read.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import sys

import orjson

# prctl(PR_SET_DUMPABLE, 0): a crash here is expected, and a core dump of it
# would only cost time and disk.
_PR_SET_DUMPABLE = 4


def _limit_this_process(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # RLIMIT_DATA counts private writable memory (the heap, anonymous maps,
    # thread stacks), not the mapped model file or shared libraries.
    resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    # The parent kills this process at its time limit; the CPU limit is for a
    # parent that is no longer there to do it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def main(argv: list[str]) -> int:
    model_path, memory_bytes, cpu_seconds = argv[1], int(argv[2]), int(argv[3])
    override = sys.stdin.buffer.read().decode()
    _limit_this_process(memory_bytes, cpu_seconds)
    from paddler import _core

    try:
        report = _core.probe_chat_template(model_path, override)
    except _core.ModelLoadError as error:
        sys.stdout.buffer.write(orjson.dumps({"model_load_error": str(error)}))
        return 0
    except MemoryError:
        return _core.CHAT_TEMPLATE_PROBE_OUT_OF_MEMORY_EXIT
    sys.stdout.buffer.write(
        orjson.dumps(
            {
                "compile_error": report.compile_error,
                "conversations": report.conversations,
                "failures": list(report.failures),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
