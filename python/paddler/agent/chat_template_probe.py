"""Tries a chat template in a process of its own before an engine adopts it.

llama.cpp's jinja engine has no recursion limit: a template that recurses
without end, or nests an expression deeper than the stack holds, kills the
process that renders it, and a template can loop or allocate without bound.
The probe compiles the template (the override, or the model's own: a GGUF
from a URL is as untrusted as an override) and renders representative
conversations with it through the engine's own code, on the same stack, in a
child process with a time and a memory limit. Only a child that dies, runs
out of time or runs out of memory refuses the template; a template that does
not compile, or that raises an error for some conversation, is an ordinary
template problem, reported as before by the engine.

    outcome = await probe_chat_template(model_path, override)
    if outcome.refused:
        ...  # outcome.problem says why, in words
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import orjson

from paddler import _core

logger = logging.getLogger(__name__)

_PROCESS_MODULE: Final = "paddler.agent.chat_template_probe_process"


@dataclass(frozen=True, slots=True)
class ChatTemplateProbeLimits:
    # Rendering a real template takes milliseconds; the whole probe (a Python
    # start, the vocabulary, tens of renders) well under a second. The limit
    # leaves room for a machine busy with other work.
    timeout_s: float = 30.0
    # Private memory of the probe process: the interpreter, the vocabulary of
    # the largest models, the 64 MiB render stack, and the renders.
    memory_bytes: int = 2 * 2**30


DEFAULT_PROBE_LIMITS: Final = ChatTemplateProbeLimits()


class ChatTemplateProbeVerdict(enum.Enum):
    SURVIVED = "survived"
    CRASHED = "crashed"
    RAN_OUT_OF_TIME = "ran out of time"
    RAN_OUT_OF_MEMORY = "ran out of memory"
    # The probe could not say: it exited with an error of its own.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChatTemplateProbeOutcome:
    verdict: ChatTemplateProbeVerdict
    # What happened, in words (for an issue or a log line).
    problem: str
    elapsed_s: float

    @property
    def refused(self) -> bool:
        return self.verdict in (
            ChatTemplateProbeVerdict.CRASHED,
            ChatTemplateProbeVerdict.RAN_OUT_OF_TIME,
            ChatTemplateProbeVerdict.RAN_OUT_OF_MEMORY,
        )


def _signal_name(number: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return f"signal {number}"


async def probe_chat_template(
    model_path: Path, override: str | None, limits: ChatTemplateProbeLimits = DEFAULT_PROBE_LIMITS
) -> ChatTemplateProbeOutcome:
    """Raises OSError when the probe process cannot be started."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        _PROCESS_MODULE,
        str(model_path),
        str(limits.memory_bytes),
        str(int(limits.timeout_s) + 1),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    timed_out = False
    try:
        async with asyncio.timeout(limits.timeout_s):
            output, errors = await process.communicate((override or "").encode())
    except TimeoutError:
        timed_out = True
        output, errors = b"", b""
    finally:
        # Timed out, or cancelled (a newer desired state, a shutdown): the
        # child never outlives the probe.
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    elapsed_s = time.monotonic() - started
    return _outcome(process.returncode, timed_out, output, errors, limits, elapsed_s)


def _outcome(
    returncode: int | None,
    timed_out: bool,
    output: bytes,
    errors: bytes,
    limits: ChatTemplateProbeLimits,
    elapsed_s: float,
) -> ChatTemplateProbeOutcome:
    def outcome(verdict: ChatTemplateProbeVerdict, problem: str) -> ChatTemplateProbeOutcome:
        return ChatTemplateProbeOutcome(verdict, problem, elapsed_s)

    if timed_out or returncode == -signal.SIGXCPU:
        return outcome(
            ChatTemplateProbeVerdict.RAN_OUT_OF_TIME,
            f"rendering it ran away: it took longer than {limits.timeout_s:g} s",
        )
    if returncode == _core.CHAT_TEMPLATE_PROBE_OUT_OF_MEMORY_EXIT:
        return outcome(
            ChatTemplateProbeVerdict.RAN_OUT_OF_MEMORY,
            f"rendering it ran away: it needed more than {limits.memory_bytes // 2**20} MiB of memory",
        )
    if returncode is not None and returncode < 0:
        name = _signal_name(-returncode)
        cause = " (a stack overflow: recursion without end, or nesting too deep)" if name == "SIGSEGV" else ""
        return outcome(
            ChatTemplateProbeVerdict.CRASHED, f"rendering it crashed the process that tried it: {name}{cause}"
        )
    last_error = errors.decode(errors="replace").strip().splitlines()[-1:] or [""]
    if returncode != 0:
        return outcome(
            ChatTemplateProbeVerdict.FAILED,
            f"the chat template probe exited with status {returncode}: {last_error[0]}",
        )
    try:
        report = orjson.loads(output)
    except orjson.JSONDecodeError:
        return outcome(ChatTemplateProbeVerdict.FAILED, f"the chat template probe answered {output[:200]!r}")
    if "model_load_error" in report:
        # Not the template's problem: loading the engine reports it.
        return outcome(ChatTemplateProbeVerdict.SURVIVED, str(report["model_load_error"]))
    refused_by_template = len(report.get("failures", []))
    prepared = f"{report.get('conversations', 0)} conversations prepared, {refused_by_template} refused by it"
    return outcome(ChatTemplateProbeVerdict.SURVIVED, str(report.get("compile_error") or "") or prepared)
