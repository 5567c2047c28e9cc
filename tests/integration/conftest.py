"""A cluster of real processes: one balancer and agents, on free loopback ports,
serving the real SmolLM2. Tests wait for states, never for fixed times."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest

from tests.model_cards import smollm2

if TYPE_CHECKING:
    from tests.integration.ha_cluster import Etcd, HaCluster

STARTUP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# A chat template that ignores the conversation: every answer of a pool with it is the same.
FIXED_PROMPT_TEMPLATE = "<|im_start|>user\nName the capital of France.<|im_end|>\n<|im_start|>assistant\n"


def fixed_prompt_state() -> dict[str, Any]:
    """SmolLM2 with FIXED_PROMPT_TEMPLATE: tells its agents' answers from any other's."""
    state = smollm2_state()
    state["chat_template_override"] = {"content": FIXED_PROMPT_TEMPLATE}
    state["use_chat_template_override"] = True
    return state


def smollm2_state(**inference_parameters: Any) -> dict[str, Any]:
    """A desired state serving SmolLM2 small and greedy: fast and repeatable."""
    parameters = {"context_size": 1024, "n_batch": 512, "temperature": 0.0, **inference_parameters}
    return {"model": {"LocalToAgent": str(smollm2())}, "inference_parameters": parameters}


# The smallest valid body of each NDJSON generation endpoint.
GENERATION_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/continue_from_raw_prompt": {"raw_prompt": "Hi", "max_tokens": 1},
    "/api/v1/continue_from_conversation_history": {
        "add_generation_prompt": True,
        "conversation_history": [{"role": "user", "content": "Hi"}],
        "enable_thinking": False,
        "max_tokens": 1,
    },
}

BENCH = Path(__file__).parents[2] / "bench"


@dataclass
class BenchRun:
    returncode: int
    report: str
    # `key=value` fields of the report's last line.
    figures: dict[str, str]


async def run_bench(script: str, *args: str, timeout_s: float = 180.0) -> BenchRun:
    """Runs bench/`script` to its end; its report is stdout and stderr together."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH / script),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    report = output.decode()
    lines = report.strip().splitlines()
    figures = dict(field.split("=", 1) for field in lines[-1].split() if "=" in field) if lines else {}
    assert process.returncode is not None
    return BenchRun(process.returncode, report, figures)


def chat_prompt(question: str) -> str:
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


async def wait_until(
    condition: Callable[[], Awaitable[Any]], timeout_s: float = STARTUP_TIMEOUT_S, what: str = "a condition"
) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = await condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode


@dataclass
class Cluster:
    tmp_path: Path
    http: httpx.AsyncClient
    management_addr: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    inference_addr: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    openai_addr: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    balancer: Process | None = None
    agents: list[Process] = field(default_factory=list)
    # "https" for a balancer started with --tls-cert (then `http` must trust its CA).
    scheme: str = "http"
    _started: int = 0

    @property
    def management_url(self) -> str:
        return f"{self.scheme}://{self.management_addr}"

    @property
    def inference_url(self) -> str:
        return f"{self.scheme}://{self.inference_addr}"

    @property
    def openai_url(self) -> str:
        return f"{self.scheme}://{self.openai_addr}/v1"

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        return self._spawn_python(name, "-m", "paddler", *args, env=env)

    def _spawn_python(self, name: str, *args: str, env: dict[str, str] | None = None) -> Process:
        self._started += 1
        log = self.tmp_path / f"{self._started:02d}-{name}.log"
        cache = str(self.tmp_path / "cache")
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", "PADDLER_CACHE_DIR": cache, **(env or {})}
        with log.open("wb") as output:
            popen = subprocess.Popen(
                [sys.executable, *args],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        return Process(popen, log)

    async def start_balancer(self, *extra: str, env: dict[str, str] | None = None) -> Process:
        self.balancer = self._spawn(
            "balancer",
            "balancer",
            "--management-addr",
            self.management_addr,
            "--inference-addr",
            self.inference_addr,
            *extra,
            env=env,
        )
        balancer = self.balancer

        async def healthy() -> bool:
            if balancer.popen.poll() is not None:
                raise AssertionError(f"the balancer exited:\n{balancer.output()}")
            try:
                management = await self.http.get(f"{self.management_url}/health")
                inference = await self.http.get(f"{self.inference_url}/health")
            except httpx.TransportError:
                return False
            return management.status_code == inference.status_code == 200

        await wait_until(healthy, what="the balancer to listen")
        return balancer

    def start_agent(
        self,
        name: str,
        slots: int = 2,
        env: dict[str, str] | None = None,
        extra: tuple[str, ...] = (),
        management_addr: str | None = None,
    ) -> Process:
        """`management_addr`: the balancers it dials (default: this cluster's)."""
        agent = self._spawn(
            f"agent-{name}",
            "agent",
            "--management-addr",
            management_addr or self.management_addr,
            "--slots",
            str(slots),
            "--name",
            name,
            "--threads",
            "1",
            *extra,
            env=env,
        )
        self.agents.append(agent)
        return agent

    def start_simulated_agents(self, name: str, count: int = 1, slots: int = 4, *extra: str) -> Process:
        """`count` agents without a model in one process (bench/simulated_agent.py), ids `{name}-N`:
        they answer every request at once with `max_tokens` tokens, for tests of the balancer alone."""
        script = str(Path(__file__).parents[2] / "bench" / "simulated_agent.py")
        agents = self._spawn_python(
            f"simulated-{name}",
            script,
            "--management-addr",
            self.management_addr,
            "--agents",
            str(count),
            "--slots",
            str(slots),
            "--tokens-per-s",
            "100000",
            "--id-prefix",
            f"{name}-",
            *extra,
        )
        self.agents.append(agents)
        return agents

    async def agents_snapshot(self) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.management_url}/api/v1/agents")
        response.raise_for_status()
        agents: list[dict[str, Any]] = response.json()["agents"]
        return agents

    async def wait_for_agents(
        self,
        condition: Callable[[list[dict[str, Any]]], bool],
        what: str,
        timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            agents = await self.agents_snapshot()
            return agents if condition(agents) else None

        try:
            result: list[dict[str, Any]] = await wait_until(check, timeout_s, what)
        except AssertionError as error:
            logs = "\n".join(agent.output()[-3000:] for agent in self.agents)
            snapshot = await self.agents_snapshot()
            raise AssertionError(f"timed out waiting for {what}; agents: {snapshot}\n{logs}") from error
        return result

    async def wait_for_serving_agents(self, count: int) -> list[dict[str, Any]]:
        def serving(agents: list[dict[str, Any]]) -> bool:
            applied = [a for a in agents if a["state_application_status"] == "Applied" and a["slots_total"]]
            return len(applied) >= count

        return await self.wait_for_agents(serving, f"{count} agents serving the model")

    async def put_state(self, state: dict[str, Any]) -> None:
        response = await self.http.put(f"{self.management_url}/api/v1/balancer_desired_state", json=state)
        assert response.status_code == 204, response.text

    async def put_pool(self, name: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Creates or changes a model pool; returns its view."""
        response = await self.http.put(f"{self.management_url}/api/v1/pools/{name}", json=settings)
        assert response.status_code in (200, 201), response.text
        view: dict[str, Any] = response.json()
        return view

    async def pools_by_name(self) -> dict[str, dict[str, Any]]:
        response = await self.http.get(f"{self.management_url}/api/v1/pools")
        assert response.status_code == 200, response.text
        return {pool["name"]: pool for pool in response.json()["pools"]}

    async def agent_ids_by_name(self) -> dict[str, str]:
        return {agent["name"]: agent["id"] for agent in await self.agents_snapshot()}

    async def serve_smollm2(self, agents: int = 1, slots: int = 2, **parameters: Any) -> None:
        """Starts `agents` agents and sets the desired state to SmolLM2; returns once all serve."""
        await self.put_state(smollm2_state(**parameters))
        for number in range(agents):
            self.start_agent(f"agent-{number}", slots)
        await self.wait_for_serving_agents(agents)

    async def serve_smollm2_with_template(self, template: str, slots: int = 1) -> None:
        """One agent serving SmolLM2 with `template` as the chat template override."""
        state = smollm2_state()
        state["chat_template_override"] = {"content": template}
        state["use_chat_template_override"] = True
        await self.put_state(state)
        self.start_agent("agent-0", slots)
        await self.wait_for_serving_agents(1)

    async def raw_prompt_lines(self, prompt: str, max_tokens: int) -> list[dict[str, Any]]:
        response = await self.http.post(
            f"{self.inference_url}/api/v1/continue_from_raw_prompt",
            json={"raw_prompt": prompt, "max_tokens": max_tokens},
        )
        assert response.status_code == 200, response.text
        return [orjson.loads(line) for line in response.text.splitlines() if line]

    async def assert_agents_alive_and_serving(self) -> None:
        """After hostile input: every agent process still runs, and a plain chat still completes."""
        for agent in self.agents:
            assert agent.popen.poll() is None, f"an agent died:\n{agent.output()[-3000:]}"
        await self.wait_for_serving_agents(len(self.agents))
        response = await self.http.post(
            f"{self.inference_url}/api/v1/continue_from_conversation_history",
            json={**GENERATION_BODIES["/api/v1/continue_from_conversation_history"], "max_tokens": 4},
        )
        assert response.status_code == 200, response.text
        lines = [orjson.loads(line) for line in response.text.splitlines() if line]
        assert "Done" in lines[-1]["Response"]["response"]["GeneratedToken"], lines[-1]
        for agent in self.agents:
            assert agent.popen.poll() is None, f"an agent died:\n{agent.output()[-3000:]}"

    def stop_all(self) -> None:
        for agent in self.agents:
            agent.stop()
        if self.balancer is not None:
            self.balancer.stop()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """A cluster with no balancer yet: tests start it with the flags they need."""
    async with httpx.AsyncClient(timeout=30.0) as http:
        cluster = Cluster(tmp_path, http)
        try:
            yield cluster
        finally:
            with contextlib.suppress(Exception):
                cluster.stop_all()


def token_text(lines: list[dict[str, Any]]) -> str:
    return "".join(
        line["Response"]["response"]["GeneratedToken"].get("ContentToken", "")
        for line in lines
        if "Response" in line and isinstance(line["Response"]["response"], dict)
    )


@pytest.fixture
async def etcd(tmp_path: Path) -> AsyncIterator[Etcd]:
    """A real etcd (Debian's etcd-server) of its own, on free ports."""
    from tests.integration.ha_cluster import Etcd

    server = Etcd(tmp_path / "etcd-data", tmp_path / "etcd.log")
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def ha(tmp_path: Path, etcd: Etcd) -> AsyncIterator[HaCluster]:
    """Two balancers over `etcd`, none started yet; agents started through it dial both."""
    from tests.integration.ha_cluster import HaCluster

    async with httpx.AsyncClient(timeout=60.0) as http:
        cluster = HaCluster(etcd, Cluster(tmp_path, http), Cluster(tmp_path, http))
        cluster.b._started = 50  # one numbering of the logs for both balancers
        try:
            yield cluster
        finally:
            with contextlib.suppress(Exception):
                cluster.stop_all()
