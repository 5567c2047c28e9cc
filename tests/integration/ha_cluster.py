"""Two balancers sharing one etcd (Debian's etcd-server, started here as a process), and agents
connected to both: the setting of the high-availability tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Cluster, Process, free_port, smollm2_state, wait_until

ETCD = shutil.which("etcd")

# Skipped on a developer's machine without etcd; CI installs it, and there a missing one fails.
needs_etcd = pytest.mark.skipif(
    ETCD is None and os.environ.get("CI") != "true", reason="etcd is not installed (Debian: etcd-server)"
)


@dataclass
class Etcd:
    data_dir: Path
    log: Path
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    async def start(self) -> None:
        self.launch()
        await self.wait_healthy()

    def launch(self) -> None:
        assert ETCD is not None
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [
                    ETCD,
                    "--data-dir", str(self.data_dir),
                    "--listen-client-urls", f"http://{self.endpoint}",
                    "--advertise-client-urls", f"http://{self.endpoint}",
                    "--listen-peer-urls", f"http://127.0.0.1:{self.peer_port}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_port}",
                    "--initial-cluster", f"default=http://127.0.0.1:{self.peer_port}",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    async def wait_healthy(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as http:

            async def healthy() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"etcd exited:\n{self.log.read_text(errors='replace')[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    return (await http.get(f"http://{self.endpoint}/health")).status_code == 200
                return False

            await wait_until(healthy, 30, "etcd to answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class HaCluster:
    """Balancers A and B (each a Cluster, sharing the HTTP client), agents dialing both."""

    etcd: Etcd
    a: Cluster
    b: Cluster
    agents: list[Process] = field(default_factory=list)

    @property
    def state_database(self) -> str:
        return f"etcd://{self.etcd.endpoint}/paddler-test"

    async def start_balancer(self, which: Cluster, *extra: str) -> Process:
        return await which.start_balancer(
            "--state-database",
            self.state_database,
            "--compat-openai-addr",
            which.openai_addr,
            "--buffered-request-timeout",
            "60000",
            *extra,
        )

    def start_agent(self, name: str, slots: int = 2) -> Process:
        both = f"{self.a.management_addr},{self.b.management_addr}"
        agent = self.a.start_agent(name, slots, management_addr=both)
        self.agents.append(agent)
        return agent

    async def serve_smollm2(self, agents: int = 2, slots: int = 2, **parameters: Any) -> None:
        """Both balancers up, the state set through A, `agents` agents serving on both."""
        await self.start_balancer(self.a)
        await self.start_balancer(self.b)
        await self.a.put_state(smollm2_state(**parameters))
        for number in range(agents):
            self.start_agent(f"agent-{number}", slots)
        for balancer in (self.a, self.b):
            await self.wait_serving(balancer, agents, slots)

    async def wait_serving(self, balancer: Cluster, agents: int, slots: int) -> list[dict[str, Any]]:
        def serving(listed: list[dict[str, Any]]) -> bool:
            ready = [
                agent
                for agent in listed
                if agent["state_application_status"] == "Applied" and agent["slots_total"] == slots
            ]
            return len(ready) >= agents

        balancer.agents = self.agents
        return await balancer.wait_for_agents(
            serving, f"{agents} agents serving through {balancer.management_addr}"
        )

    async def cluster_view(self, balancer: Cluster) -> dict[str, Any]:
        response = await balancer.http.get(f"{balancer.management_url}/health?detail")
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def leader_and_follower(self) -> tuple[Cluster, Cluster]:
        """The balancer that leads (waited for: the election takes a moment), and the other."""

        async def leader() -> Cluster | None:
            for balancer in (self.a, self.b):
                if (await self.cluster_view(balancer))["leadership"]["is_leader"]:
                    return balancer
            return None

        first: Cluster = await wait_until(leader, 10, "a leader")
        return first, self.b if first is self.a else self.a

    def stop_all(self) -> None:
        for agent in self.agents:
            agent.stop()
        for balancer in (self.a, self.b):
            if balancer.balancer is not None:
                balancer.balancer.stop()


async def chat(http: httpx.AsyncClient, openai_url: str, content: str, max_tokens: int = 8) -> httpx.Response:
    return await http.post(
        f"{openai_url}/chat/completions",
        json={
            "model": "smollm2",
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "temperature": 0,
        },
    )
