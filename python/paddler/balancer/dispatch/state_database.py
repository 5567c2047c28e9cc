"""Where the desired state lives: `memory://`, or a JSON file written atomically."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE, BalancerDesiredState
from paddler.protocol.body_validation import InvalidBody, decode_json


class StateDatabase(Protocol):
    async def load(self) -> BalancerDesiredState | None: ...

    async def store(self, state: BalancerDesiredState) -> None: ...


class MemoryStateDatabase:
    def __init__(self) -> None:
        self._state: BalancerDesiredState | None = None

    async def load(self) -> BalancerDesiredState | None:
        return self._state

    async def store(self, state: BalancerDesiredState) -> None:
        self._state = state


class FileStateDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_lock = asyncio.Lock()

    async def load(self) -> BalancerDesiredState | None:
        return await asyncio.to_thread(self._read)

    def _read(self) -> BalancerDesiredState | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        decoded = decode_json(BALANCER_DESIRED_STATE, raw)
        if isinstance(decoded, InvalidBody):
            raise StateDatabaseError(f"{self.path} holds no valid desired state: {decoded.message}")
        return decoded

    async def store(self, state: BalancerDesiredState) -> None:
        # One writer at a time: the last PUT wins, whole.
        async with self._write_lock:
            await asyncio.to_thread(self._write, state.model_dump_json(indent=2).encode())

    def _write(self, content: bytes) -> None:
        # A crash at any point leaves either the old file or the new one,
        # never a torn one: temp file in the same folder, fsync, rename.
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class StateDatabaseError(Exception):
    pass


def open_state_database(url: str) -> StateDatabase:
    """`memory://` or `file:///absolute/path.json`; raises StateDatabaseError with a message."""
    if url == "memory://":
        return MemoryStateDatabase()
    parsed = urlparse(url)
    if parsed.scheme != "file":
        raise StateDatabaseError(
            f"unsupported state database {url!r}: use memory:// or file:///absolute/path.json"
        )
    if parsed.netloc:
        raise StateDatabaseError(
            f"the state database path in {url!r} is relative (or has a host); "
            "use three slashes and an absolute path: file:///absolute/path.json"
        )
    path = Path(unquote(parsed.path))
    if not path.is_absolute() or not parsed.path:
        raise StateDatabaseError(f"the state database path in {url!r} must be absolute")
    if path.is_dir():
        raise StateDatabaseError(f"the state database path {path} is a folder, not a file")
    return FileStateDatabase(path)
