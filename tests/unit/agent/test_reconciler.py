"""The reconciler's wake-ups and admission: the model resolver held where a test wants it,
SmolLM2 loaded for real where requests are served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.model_resolver import ModelResolver, ResolveFailed
from paddler.agent.reconciler import LeaseRefused, Reconciler
from paddler.protocol.agent_desired_model import AgentDesiredModel, LocalToAgent
from paddler.protocol.agent_status import AgentStateApplicationStatus
from paddler.protocol.balancer_desired_state import AgentDesiredState
from paddler.protocol.inference_parameters import InferenceParameters
from tests.model_cards import smollm2


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


async def board_reaches(
    board: AgentStatusBoard, status: AgentStateApplicationStatus, within_s: float
) -> None:
    async with asyncio.timeout(within_s):
        while board.state_application_status is not status:
            board.changed.clear()
            await board.changed.wait()


def smollm2_state(context_size: int) -> AgentDesiredState:
    return AgentDesiredState(
        model=LocalToAgent(LocalToAgent=str(smollm2())),
        inference_parameters=InferenceParameters(context_size=context_size, n_batch=256),
    )


@pytest.fixture
def board() -> AgentStatusBoard:
    return AgentStatusBoard(desired_slots_total=1)


@pytest.fixture
async def running_reconciler(tmp_path: Path, board: AgentStatusBoard) -> AsyncIterator[Reconciler]:
    reconciler = Reconciler(board, tmp_path, slots=1, threads=1)
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


async def test_a_new_engine_loaded_during_the_shutdown_drain_is_not_offered_to_requests(
    running_reconciler: Reconciler, board: AgentStatusBoard
) -> None:
    running_reconciler.set_desired_state(smollm2_state(context_size=256))
    await board_reaches(board, AgentStateApplicationStatus.APPLIED, 30)

    with running_reconciler.lease() as serving:
        assert not isinstance(serving, LeaseRefused)
        # A new engine is wanted; the old one drains this request first.
        running_reconciler.set_desired_state(smollm2_state(context_size=512))
        await board_reaches(board, AgentStateApplicationStatus.FRESH, 5)
        # The agent is told to shut down while the request still runs.
        running_reconciler.stop_accepting()

    await board_reaches(board, AgentStateApplicationStatus.APPLIED, 30)
    assert board.slots_total == 0
    with running_reconciler.lease() as serving:
        assert serving is LeaseRefused.NO_MODEL
