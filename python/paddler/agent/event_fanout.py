"""One reader for all native events, fanning them out to per-request mailboxes.

The engine thread signals an eventfd when it has published events. A single
`add_reader` callback drains them in batches and drops each into the mailbox
of its request: one callback per wake-up, never a task per token.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paddler import _core

DRAIN_BATCH = 512

Mailbox = asyncio.Queue["_core.Event"]


class EventFanout:
    def __init__(self, engine: _core.Engine, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop
        self._mailboxes: dict[int, Mailbox] = {}
        self._reading = False

    def start(self) -> None:
        self._loop.add_reader(self._engine.event_fd(), self.drain)
        self._reading = True

    def stop(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._engine.event_fd())
            self._reading = False
        # Whatever the engine published while stopping still reaches its mailbox.
        self.drain()

    def open(self, request_id: int) -> Mailbox:
        mailbox: Mailbox = asyncio.Queue()
        self._mailboxes[request_id] = mailbox
        return mailbox

    def close(self, request_id: int) -> None:
        self._mailboxes.pop(request_id, None)

    def drain(self) -> None:
        while True:
            events = self._engine.drain_events(DRAIN_BATCH)
            for event in events:
                mailbox = self._mailboxes.get(event.request_id)
                # No mailbox: the caller went away and cancelled; drop it.
                if mailbox is not None:
                    mailbox.put_nowait(event)
            if len(events) < DRAIN_BATCH:
                return
