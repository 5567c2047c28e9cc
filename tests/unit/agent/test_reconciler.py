"""The reconciler's wake-ups and admission, with the model resolver held where a test wants it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.model_resolver import ModelResolver, ResolveFailed
from paddler.agent.reconciler import Reconciler
from paddler.protocol.agent_desired_model import AgentDesiredModel, LocalToAgent
from paddler.protocol.balancer_desired_state import AgentDesiredState


class HeldResolver:
    """Stands in for ModelResolver.resolve: each model resolves to "no model" when the test says."""

    def __init__(self) -> None:
        self.asked: list[AgentDesiredModel] = []
        self.asked_changed = asyncio.Event()
        self.releases: dict[str, asyncio.Future[None]] = {}

    def release(self, model: LocalToAgent) -> None:
        self.releases.setdefault(model.LocalToAgent, asyncio.get_running_loop().create_future()).set_result(
            None
        )

    async def wait_asked(self, model: LocalToAgent, within_s: float) -> None:
        async with asyncio.timeout(within_s):
            while model not in self.asked:
                self.asked_changed.clear()
                await self.asked_changed.wait()

    async def resolve(self, model: AgentDesiredModel) -> Path | ResolveFailed | None:
        self.asked.append(model)
        self.asked_changed.set()
        if isinstance(model, LocalToAgent):
            await self.releases.setdefault(model.LocalToAgent, asyncio.get_running_loop().create_future())
        return None


@pytest.fixture
def held_resolver(monkeypatch: pytest.MonkeyPatch) -> HeldResolver:
    held = HeldResolver()

    async def resolve(_resolver: ModelResolver, model: AgentDesiredModel) -> Path | ResolveFailed | None:
        return await held.resolve(model)

    monkeypatch.setattr(ModelResolver, "resolve", resolve)
    return held


@pytest.fixture
async def running_reconciler(tmp_path: Path) -> AsyncIterator[Reconciler]:
    reconciler = Reconciler(AgentStatusBoard(desired_slots_total=1), tmp_path, slots=1)
    shutdown = asyncio.Event()
    running = asyncio.create_task(reconciler.run(shutdown))
    yield reconciler
    shutdown.set()
    await asyncio.wait_for(running, 5)


async def test_a_desired_state_that_arrives_as_a_download_finishes_is_applied_without_another_push(
    held_resolver: HeldResolver, running_reconciler: Reconciler
) -> None:
    first = LocalToAgent(LocalToAgent="/models/first.gguf")
    second = LocalToAgent(LocalToAgent="/models/second.gguf")
    running_reconciler.set_desired_state(AgentDesiredState(model=first))
    await held_resolver.wait_asked(first, within_s=5)

    # The download ends and the new state arrives in the same step of the loop.
    held_resolver.release(first)
    running_reconciler.set_desired_state(AgentDesiredState(model=second))

    await held_resolver.wait_asked(second, within_s=5)
    held_resolver.release(second)
