"""`python -m paddler quickstart` as a process of a test: started, awaited until its agent serves,
stopped with SIGTERM. Used with the source tree's interpreter and with a wheel's venv."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.integration.conftest import wait_until


@dataclass
class Quickstart:
    # What it printed up to "Ctrl-C stops everything".
    printed: str = ""
    # Its exit code, once the context has ended.
    exit_code: int | None = None


@asynccontextmanager
async def quickstart_process(
    python: str,
    management: str,
    *arguments: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Quickstart]:
    process = await asyncio.create_subprocess_exec(
        python,
        *("-m", "paddler", "quickstart", "--management-addr", management, *arguments),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    started = Quickstart()
    try:
        while "Ctrl-C stops everything" not in started.printed:
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            assert line, started.printed
            started.printed += line.decode()
        async with httpx.AsyncClient(timeout=60) as http:

            async def serving() -> bool:
                agents = (await http.get(f"http://{management}/api/v1/agents")).json()["agents"]
                return bool(agents) and agents[0]["state_application_status"] == "Applied"

            await wait_until(serving, what="the quickstart agent to serve")
        yield started
    finally:
        process.send_signal(signal.SIGTERM)
        await process.stdout.read()
        started.exit_code = await asyncio.wait_for(process.wait(), 30)
