"""The request handler answers on one connection at a time, named explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paddler.agent.agent_status_board import AgentStatusBoard
from paddler.agent.reconciler import Reconciler
from paddler.agent.request_handler import RequestHandler, nothing_to_flush


def handler(tmp_path: Path) -> RequestHandler:
    return RequestHandler(Reconciler(AgentStatusBoard(desired_slots_total=1), tmp_path, slots=1))


def test_a_second_connection_cannot_take_the_answers_of_the_first(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    requests.attach(first.append, nothing_to_flush)

    with pytest.raises(RuntimeError, match="already answers on a connection"):
        requests.attach(second.append, nothing_to_flush)
    requests.handle_request({"id": 7, "method": "GetModelMetadata"})

    assert len(first) == 1
    assert second == []


def test_answers_go_to_the_next_connection_once_the_first_is_detached(tmp_path: Path) -> None:
    requests = handler(tmp_path)
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    requests.attach(first.append, nothing_to_flush)
    requests.detach()
    requests.attach(second.append, nothing_to_flush)

    requests.handle_request({"id": 7, "method": "GetModelMetadata"})

    assert first == []
    assert len(second) == 1
