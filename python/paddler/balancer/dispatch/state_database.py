"""Where the pools' desired states live: `memory://`, a JSON file written atomically, or etcd
(shared by the balancers of one cluster: etcd_state_database.py).

A file holds `{"pools": {name: settings}}`. A file written before pools existed (one bare
desired state) is read as the `default` pool's, and rewritten in the new shape at the next change.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from paddler.balancer.dispatch.state_database_errors import StateDatabaseError
from paddler.protocol.balancer_desired_state import BALANCER_DESIRED_STATE
from paddler.protocol.body_validation import InvalidBody, decode_json
from paddler.protocol.model_pool import DEFAULT_POOL, STORED_POOLS, ModelPoolSettings, StoredPools


class StateDatabase(Protocol):
    async def load(self) -> dict[str, ModelPoolSettings] | None: ...

    async def store(self, pools: dict[str, ModelPoolSettings]) -> None:
        """Raises StateConflict (etcd: another balancer wrote first) or StateDatabaseUnavailable."""

    async def run(
        self, shutdown: asyncio.Event, on_change: Callable[[dict[str, ModelPoolSettings]], None]
    ) -> None:
        """Gives `on_change` the pools other balancers store, until `shutdown` (etcd only)."""

    def health(self) -> dict[str, Any]: ...


class _Unshared:
    """A database only this balancer writes: nothing to watch, always at hand."""

    kind = ""

    async def run(
        self, shutdown: asyncio.Event, on_change: Callable[[dict[str, ModelPoolSettings]], None]
    ) -> None:
        await shutdown.wait()

    def health(self) -> dict[str, Any]:
        return {"kind": self.kind, "reachable": True, "error": None}


class MemoryStateDatabase(_Unshared):
    kind = "memory"

    def __init__(self) -> None:
        self._pools: dict[str, ModelPoolSettings] | None = None

    async def load(self) -> dict[str, ModelPoolSettings] | None:
        return dict(self._pools) if self._pools is not None else None

    async def store(self, pools: dict[str, ModelPoolSettings]) -> None:
        self._pools = dict(pools)


class FileStateDatabase(_Unshared):
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._write_lock = asyncio.Lock()

    async def load(self) -> dict[str, ModelPoolSettings] | None:
        return await asyncio.to_thread(self._read)

    def _read(self) -> dict[str, ModelPoolSettings] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        stored = decode_json(STORED_POOLS, raw)
        if not isinstance(stored, InvalidBody):
            return dict(stored.pools)
        # Written before pools: the one desired state is the default pool's.
        legacy = decode_json(BALANCER_DESIRED_STATE, raw)
        if not isinstance(legacy, InvalidBody):
            return {DEFAULT_POOL: ModelPoolSettings(desired_state=legacy)}
        raise StateDatabaseError(f"{self.path} holds no valid pools: {stored.message}")

    async def store(self, pools: dict[str, ModelPoolSettings]) -> None:
        # One writer at a time: the last change wins, whole.
        content = StoredPools(pools=pools).model_dump_json(indent=2).encode()
        async with self._write_lock:
            await asyncio.to_thread(self._write, content)

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
