"""Brings this agent to the desired state the balancer pushed: the model, the
engine built with the inference parameters, the chat template.

A failure never ends the agent: it is reported as an issue and tried again
with backoff, until it succeeds or a newer desired state arrives.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import random
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.chat_template_probe import (
    DEFAULT_PROBE_LIMITS,
    ChatTemplateProbeLimits,
    ChatTemplateProbeVerdict,
    probe_chat_template,
)
from paddler.agent.engine_config import EngineConfig, KvCacheType, PoolingType, ThreadWait
from paddler.agent.inference_engine import InferenceEngine, ModelLoadError, matrix_kernels_summary
from paddler.agent.model_resolver import (
    DEFAULT_DOWNLOAD_LIMITS,
    DownloadLimits,
    DownloadProgress,
    ModelResolver,
    ResolveFailed,
)
from paddler.protocol.agent_desired_model import AgentDesiredModel, describe_model
from paddler.protocol.agent_status import AgentIssue, AgentStateApplicationStatus, issue
from paddler.protocol.balancer_desired_state import AgentDesiredState
from paddler.protocol.inference_parameters import InferenceParameters, KvCacheDtype
from paddler.protocol.inference_parameters import PoolingType as WirePoolingType

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

RETRY_INITIAL_S = 1.0
RETRY_MAX_S = 30.0
# Failed attempts at one desired state before the status says Stuck.
STUCK_AFTER_FAILURES = 5
# A slot freed by one balancer's request is its to fill first for this long (refill_grace_s).
REFILL_GRACE_S = 0.05
# In-flight requests get this long to finish before a new engine replaces theirs.
DRAIN_TIMEOUT_S = 30.0
# Chat template probe verdicts remembered, per (model file, override).
PROBE_VERDICTS_KEPT = 16

_KV_CACHE_TYPES = {
    KvCacheDtype.F32: KvCacheType.F32,
    KvCacheDtype.F16: KvCacheType.F16,
    KvCacheDtype.BF16: KvCacheType.BF16,
    KvCacheDtype.Q8_0: KvCacheType.Q8_0,
    KvCacheDtype.Q4_0: KvCacheType.Q4_0,
    KvCacheDtype.Q4_1: KvCacheType.Q4_1,
    KvCacheDtype.Q5_0: KvCacheType.Q5_0,
    KvCacheDtype.Q5_1: KvCacheType.Q5_1,
}


_POOLING_TYPES = {
    WirePoolingType.UNSPECIFIED: PoolingType.UNSPECIFIED,
    WirePoolingType.NONE: PoolingType.NONE,
    WirePoolingType.MEAN: PoolingType.MEAN,
    WirePoolingType.CLS: PoolingType.CLS,
    WirePoolingType.LAST: PoolingType.LAST,
    WirePoolingType.RANK: PoolingType.RANK,
}


# The inference parameters an engine is built with; the rest are sampling
# defaults that a running engine takes per request.
_ENGINE_FIELDS = (
    "n_batch",
    "context_size",
    "embedding_batch_size",
    "enable_embeddings",
    "k_cache_dtype",
    "v_cache_dtype",
    "n_gpu_layers",
    "pooling_type",
)


def _engine_fields(parameters: InferenceParameters) -> tuple[object, ...]:
    return tuple(getattr(parameters, name) for name in _ENGINE_FIELDS)


@dataclass(frozen=True, slots=True)
class ServingModel:
    """What requests run against; replaced whole on every reconciliation."""

    engine: InferenceEngine
    parameters: InferenceParameters
    chat_template_override: str | None
    model: AgentDesiredModel
    multimodal_projection: AgentDesiredModel = "None"


class Admission(enum.Enum):
    """Whether requests get the engine being served. Changed only by `Reconciler._admit`."""

    OPEN = "open"
    # The engine is being drained and replaced; the next one opens it again.
    REPLACING = "replacing"
    # The agent is shutting down. Final: an engine that finishes loading
    # during the shutdown drain is never offered.
    CLOSED = "closed"


class LeaseRefused(enum.Enum):
    """Why a request gets no engine on this agent now."""

    # No model, or one being replaced, or the agent is shutting down.
    NO_MODEL = "no_model"
    # Every slot is leased (several balancers share this agent's slots).
    SLOTS_FULL = "slots_full"


class _NotAppliable(Exception):
    def __init__(self, problem: AgentIssue) -> None:
        self.problem = problem


class _Retry(Exception):
    def __init__(self, problem: AgentIssue) -> None:
        self.problem = problem


class _Superseded(Exception):
    """A newer desired state arrived while this one was being applied."""


# A model file as it is on disk (path, size, modification time) and the override.
_ProbeKey = tuple[str, int, int, str | None]


class Reconciler:
    def __init__(
        self,
        board: AgentStatusBoard,
        resolver_cache_dir: Path,
        slots: int,
        threads: int = 0,
        thread_wait: ThreadWait = ThreadWait.SPIN,
        deterministic: bool = False,
        probe_limits: ChatTemplateProbeLimits = DEFAULT_PROBE_LIMITS,
        download_limits: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS,
    ) -> None:
        self._board = board
        self._resolver = ModelResolver(resolver_cache_dir, self._on_download_progress, download_limits)
        self._probe_limits = probe_limits
        # Why each probed template was refused (None: it was not).
        self._probe_verdicts: dict[_ProbeKey, str | None] = {}
        self._slots = slots
        self._threads = threads
        self._thread_wait = thread_wait
        self._deterministic = deterministic
        self._desired: AgentDesiredState | None = None
        self._desired_pool: str | None = None
        # The model pool of the applied state, as the balancer that sent it named it: every
        # balancer learns from it where the leader placed this agent.
        self.applied_pool: str | None = None
        self._applied: AgentDesiredState | None = None
        self._wake = asyncio.Event()
        self.serving: ServingModel | None = None
        # What stays wrong with the engine being served (its model's chat template).
        self._serving_issues: list[AgentIssue] = []
        self._in_flight = 0
        # Leases per holder (the balancer connection each request came on), and the
        # holder and time of the last lease given back.
        self._holders: collections.Counter[object] = collections.Counter()
        self._released: tuple[object, float, int] = (None, 0.0, 0)
        self._idle = asyncio.Event()
        self._idle.set()
        self._admission = Admission.OPEN

    @property
    def slots_processing(self) -> int:
        """The requests holding a lease, not the engine's own count: that one lags
        until the engine thread admits a request, and the balancer should see a slot
        busy from the moment it is taken."""
        return self._in_flight

    def set_desired_state(self, state: AgentDesiredState, pool: str | None = None) -> None:
        """`pool`: the model pool the state is for (our balancers say it), reported once applied."""
        self._desired = state
        self._desired_pool = pool
        if state == self._applied:
            self.applied_pool = pool
            # Nothing to do: it is applied already; the balancer that sent it hears so at once.
            self._board.urgent.set()
        self._wake.set()

    @property
    def applied(self) -> AgentDesiredState | None:
        """The last desired state applied, or found not appliable (trying again cannot help)."""
        return self._applied

    def stop_accepting(self) -> None:
        """Shutting down: no new requests (the balancer sees zero slots), running ones finish."""
        self._admit(Admission.CLOSED)

    @contextlib.contextmanager
    def lease(self, holder: object = None) -> Iterator[ServingModel | LeaseRefused]:
        """The model to serve one request with, or why there is none for it now.

        The engine is not replaced while a lease is held. Each slot is leased once: with
        several balancers, each counts only its own requests, and this agent decides.
        `holder`: the connection the request came on (for `held_elsewhere`).
        """
        if self._admission is not Admission.OPEN or self.serving is None:
            yield LeaseRefused.NO_MODEL
            return
        if self._in_flight >= self.serving.engine.slots:
            # The balancer that sent it marks this agent full until its next status: sent now.
            self._board.urgent.set()
            yield LeaseRefused.SLOTS_FULL
            return
        self._in_flight += 1
        self._holders[holder] += 1
        self._idle.clear()
        self._slots_changed()
        try:
            yield self.serving
        finally:
            self._in_flight -= 1
            self._holders[holder] -= 1
            if not self._holders[holder]:
                del self._holders[holder]
            self._released = (holder, time.monotonic(), self._holders.get(holder, 0))
            if self._in_flight == 0:
                self._idle.set()
            self._slots_changed()

    def held_elsewhere(self, holder: object) -> int:
        """Slots leased by requests that came on other connections than `holder`'s."""
        return self._in_flight - self._holders.get(holder, 0)

    def refill_grace_s(self, holder: object, balancers: int) -> float:
        """How long `holder`'s balancer should still not hear of the slot another balancer's
        request freed last: that balancer learns of it first (the request's result) and sends
        its next buffered request there within this; told at once, both would send one, and
        this agent would refuse one of them.

        Only while that balancer holds less than its fair share of the slots (of `balancers`
        sharing them): one that holds more gets no head start, or a balancer with a deep buffer
        would keep every slot and another's requests would wait for as long as it stays busy.
        """
        released_by, released_at, still_held = self._released
        if released_by is holder or self.serving is None:
            return 0.0
        fair_share = -(-self.serving.engine.slots // max(balancers, 1))
        if still_held >= fair_share:
            return 0.0
        return max(0.0, REFILL_GRACE_S - (time.monotonic() - released_at))

    def _slots_changed(self) -> None:
        # One balancer learns of its own requests first-hand; when several share the
        # slots, each must hear at once of the others' (or its requests are refused).
        if self._board.changed.subscribers > 1:
            self._board.urgent.set()
        self._board.changed.set()

    async def run(self, shutdown: asyncio.Event) -> None:
        try:
            while not shutdown.is_set():
                # The wake event only says "look again"; what is to do is
                # `_desired` against `_applied`. Cleared before that is read,
                # never after, so a state that arrives meanwhile is never missed.
                self._wake.clear()
                if self._pending():
                    await self._reconcile_with_retries(shutdown)
                else:
                    await _first_of(self._wake, shutdown)
        finally:
            await self._replace(None)

    def _pending(self) -> bool:
        return self._desired is not None and self._desired != self._applied

    async def _reconcile_with_retries(self, shutdown: asyncio.Event) -> None:
        attempted: AgentDesiredState | None = None
        failures = 0
        while self._desired is not None and self._desired != self._applied:
            self._wake.clear()
            desired = self._desired
            if desired != attempted:
                # A new desired state: fresh, and its own backoff.
                attempted, failures = desired, 0
                self._board.update(state_application_status=AgentStateApplicationStatus.FRESH)
            pool = self._desired_pool
            try:
                standing = await self._apply(desired)
                self._applied = desired
                self.applied_pool = pool
                self._board.update(
                    state_application_status=AgentStateApplicationStatus.APPLIED,
                    issues=standing,
                )
                self._board.urgent.set()
                continue  # a state that arrived meanwhile is taken at once
            except _NotAppliable as failure:
                self._applied = desired  # trying again cannot help; wait for a new state
                self.applied_pool = pool
                self._board.update(
                    state_application_status=AgentStateApplicationStatus.ATTEMPTED_AND_NOT_APPLIABLE,
                    issues=[failure.problem],
                )
                self._board.urgent.set()
                continue
            except _Superseded:
                continue
            except _Retry as failure:
                problem = failure.problem
            except Exception as error:  # a bug or an unforeseen failure: report it, never die of it
                logger.exception("applying the desired state failed")
                problem = issue("UnexpectedError", f"{type(error).__name__}: {error}")
            failures += 1
            delay = min(RETRY_INITIAL_S * 2 ** (failures - 1), RETRY_MAX_S)
            logger.warning("desired state not applied: %s; retry in %.1f s", problem, delay)
            self._board.update(
                # Still retrying, but long enough that a person should look.
                state_application_status=AgentStateApplicationStatus.STUCK
                if failures >= STUCK_AFTER_FAILURES
                else AgentStateApplicationStatus.ATTEMPTED_AND_RETRYING,
                issues=[problem],
            )
            # Jitter: agents that failed together do not retry together.
            # A newer desired state (already here, or arriving) or a shutdown
            # ends the wait early.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay * random.uniform(0.8, 1.2)):
                    while self._desired == desired and not shutdown.is_set():
                        self._wake.clear()
                        await _first_of(self._wake, shutdown)
            if shutdown.is_set():
                return

    async def _apply(self, desired: AgentDesiredState) -> list[AgentIssue]:
        """Applies `desired`; returns the issues that stand while it is applied."""
        parameters = desired.inference_parameters
        override = desired.chat_template_override.content if desired.chat_template_override else None
        for dtype in (parameters.k_cache_dtype, parameters.v_cache_dtype):
            if dtype not in _KV_CACHE_TYPES:
                raise _NotAppliable(issue("KvCacheDtypeNotSupported", dtype.value))

        serving = self.serving
        if (
            serving is not None
            and serving.model == desired.model
            and serving.multimodal_projection == desired.multimodal_projection
            and serving.chat_template_override == override
            and _engine_fields(serving.parameters) == _engine_fields(parameters)
        ):
            # Only sampling defaults changed: they apply to the next request,
            # the engine stays.
            self.serving = ServingModel(
                serving.engine, parameters, override, desired.model, desired.multimodal_projection
            )
            return self._serving_issues

        resolved = await self._unless_superseded(desired, self._resolver.resolve(desired.model))
        if isinstance(resolved, ResolveFailed):
            if resolved.retry:
                raise _Retry(resolved.issue)
            raise _NotAppliable(resolved.issue)
        if resolved is None:
            await self._replace(None)
            self._board.update(model_path=None, uses_chat_template_override=False)
            self._serving_issues = []
            return []

        projection = await self._resolve_projection(desired)

        # The template is tried in a process of its own before the engine
        # compiles it: one that crashes or runs away there would take the
        # agent down here. The current engine serves meanwhile.
        refusal = await self._unless_superseded(desired, self._chat_template_refusal(resolved, override))
        if refusal is not None and override is not None:
            # As for an override that does not compile: nothing to retry
            # until the operator changes it, and nothing served with it.
            await self._replace(None)
            self._board.update(model_path=None)
            raise _NotAppliable(
                issue("ChatTemplateDoesNotCompile", f"the chat template override was refused: {refusal}")
            )
        model_template_refusal = f"the model's chat template was refused: {refusal}" if refusal else None

        # The chat template is compiled by the engine (llama.cpp's own jinja),
        # so a new override means a new engine; loading a model that is
        # already in the page cache takes a moment.
        config = EngineConfig(
            context_size=parameters.context_size,
            slots=self._slots,
            n_batch=parameters.n_batch,
            n_ubatch=min(512, parameters.n_batch),
            n_gpu_layers=parameters.n_gpu_layers,
            threads=self._threads,
            thread_wait=self._thread_wait,
            deterministic=self._deterministic,
            k_cache_type=_KV_CACHE_TYPES[parameters.k_cache_dtype],
            v_cache_type=_KV_CACHE_TYPES[parameters.v_cache_dtype],
            chat_template_override=override,
            chat_template_refusal=model_template_refusal,
            enable_embeddings=parameters.enable_embeddings,
            embedding_batch_size=parameters.embedding_batch_size,
            pooling_type=_POOLING_TYPES[parameters.pooling_type],
            multimodal_projection_path=str(projection) if projection is not None else None,
        )
        await self._replace(None)
        logger.info("loading %s", describe_model(desired.model))
        try:
            engine = await InferenceEngine.load(str(resolved), config)
        except (ModelLoadError, ValueError) as error:
            self._board.update(model_path=None)
            if projection is not None and "multimodal projection" in str(error):
                raise _Retry(issue("MultimodalProjectionCannotBeLoaded", f"{projection}: {error}")) from error
            raise _Retry(issue("ModelCannotBeLoaded", f"{resolved}: {error}")) from error
        logger.info("%s", engine.flash_attention_summary)
        logger.info("%s", matrix_kernels_summary(config))
        template_problem = engine.chat_template_error()
        if override is not None and template_problem is not None:
            # The operator's template is wrong: nothing to retry until they fix it.
            await engine.close()
            self._board.update(model_path=None)
            raise _NotAppliable(issue("ChatTemplateDoesNotCompile", template_problem))
        self.serving = ServingModel(
            engine, parameters, override, desired.model, desired.multimodal_projection
        )
        self._board.update(
            slots_total=self._slots_offered(),
            model_path=str(resolved),
            uses_chat_template_override=override is not None,
        )
        self._serving_issues = []
        if template_problem is not None:
            # Raw prompts work without a template: applied, with the issue shown.
            kind = "ChatTemplateDoesNotCompile" if model_template_refusal else "UnableToFindChatTemplate"
            self._serving_issues = [issue(kind, template_problem)]
        return self._serving_issues

    async def _resolve_projection(self, desired: AgentDesiredState) -> Path | None:
        """The multimodal projection's file (local, URL or Hugging Face, as the model), or None."""
        resolved = await self._unless_superseded(
            desired, self._resolver.resolve(desired.multimodal_projection)
        )
        if isinstance(resolved, ResolveFailed):
            problem = resolved.issue
            if isinstance(problem, dict) and "ModelFileDoesNotExist" in problem:
                # Paddler's issue for a projection that is not where the state says.
                problem = issue("MultimodalProjectionCannotBeLoaded", problem["ModelFileDoesNotExist"])
            if resolved.retry:
                raise _Retry(problem)
            raise _NotAppliable(problem)
        return resolved

    async def _chat_template_refusal(self, model: Path, override: str | None) -> str | None:
        """Why the template `model` would be served with must not be compiled, or None.

        Probed once per model file and override; the verdict is remembered.
        """
        try:
            stat = await asyncio.to_thread(model.stat)
        except OSError:
            return None  # loading the engine reports it
        key: _ProbeKey = (str(model), stat.st_size, stat.st_mtime_ns, override)
        if key in self._probe_verdicts:
            return self._probe_verdicts[key]
        try:
            outcome = await probe_chat_template(model, override, self._probe_limits)
        except OSError as error:
            raise _Retry(
                issue("UnexpectedError", f"the chat template probe cannot start: {error}")
            ) from error
        which = "override" if override is not None else "model's own"
        logger.info(
            "chat template probe (%s) %s in %.2f s: %s",
            which,
            outcome.verdict.value,
            outcome.elapsed_s,
            outcome.problem,
        )
        if outcome.verdict is ChatTemplateProbeVerdict.FAILED:
            # Neither safe nor refused: tried again with the desired state.
            raise _Retry(issue("UnexpectedError", outcome.problem))
        refusal = outcome.problem if outcome.refused else None
        if len(self._probe_verdicts) >= PROBE_VERDICTS_KEPT:
            self._probe_verdicts.pop(next(iter(self._probe_verdicts)))
        self._probe_verdicts[key] = refusal
        return refusal

    async def _unless_superseded(self, desired: AgentDesiredState, work: Coroutine[Any, Any, _T]) -> _T:
        # A download or a runaway template's probe can take long; a newer
        # desired state must not wait for a model nobody wants any more.
        # (Loading an engine is not cut short: a half-built native engine
        # cannot be abandoned safely.)
        task = asyncio.create_task(work)
        try:
            while not task.done():
                # Cleared before the check, never after (as in `run`): a state
                # that arrives as the work ends is read by the caller's loop.
                self._wake.clear()
                if self._desired != desired:
                    raise _Superseded()
                superseded = asyncio.create_task(self._wake.wait())
                await asyncio.wait({task, superseded}, return_when=asyncio.FIRST_COMPLETED)
                superseded.cancel()
        finally:
            # Superseded, or the reconciler itself cancelled (shutdown): the
            # work (and a probe's process) does not go on alone.
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return task.result()

    async def _replace(self, serving: ServingModel | None) -> None:
        """Drains the requests on the current engine, closes it, installs `serving`."""
        old = self.serving
        if old is None:
            self.serving = serving
            return
        self._admit(Admission.REPLACING)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self._idle.wait()
        # Requests still running after the drain timeout end with SHUTTING_DOWN.
        await old.engine.close()
        self.serving = serving
        self._admit(Admission.OPEN)

    def _admit(self, admission: Admission) -> None:
        """The one place admission changes; what the balancer is told follows it."""
        if self._admission is not Admission.CLOSED:
            self._admission = admission
        self._board.update(slots_total=self._slots_offered())

    def _slots_offered(self) -> int:
        if self._admission is Admission.OPEN and self.serving is not None:
            return self.serving.engine.slots
        return 0

    def _on_download_progress(self, progress: DownloadProgress) -> None:
        self._board.update(
            download_filename=progress.filename,
            download_current=progress.current,
            download_total=progress.total,
            download_indeterminate=progress.indeterminate,
        )


async def _first_of(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
