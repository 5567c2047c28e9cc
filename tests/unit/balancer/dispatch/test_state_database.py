import socket
from pathlib import Path

import pytest

from paddler.balancer.dispatch.state_database import (
    FileStateDatabase,
    MemoryStateDatabase,
)
from paddler.balancer.dispatch.state_database_errors import StateDatabaseError, StateDatabaseUnavailable
from paddler.balancer.etcd.etcd_state_database import EtcdStateDatabase
from paddler.bootstrap.state_database_opener import open_state_database
from paddler.protocol.balancer_desired_state import BalancerDesiredState, ChatTemplate
from paddler.protocol.model_pool import ModelPoolSettings


async def test_a_file_database_round_trips_every_pool_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.json"
    database = open_state_database(f"file://{path}")
    assert isinstance(database, FileStateDatabase)
    state = BalancerDesiredState(
        chat_template_override=ChatTemplate(content="x"), use_chat_template_override=True
    )
    pools = {
        "default": ModelPoolSettings(desired_state=state),
        "other": ModelPoolSettings(aliases=["o"], min_agents=1, max_concurrency=3),
    }

    assert await database.load() is None
    await database.store(pools)

    assert await FileStateDatabase(path).load() == pools
    assert [child.name for child in path.parent.iterdir()] == ["state.json"]


async def test_a_file_written_before_pools_is_read_as_the_default_pools_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state = BalancerDesiredState(
        use_chat_template_override=True, chat_template_override=ChatTemplate(content="y")
    )
    path.write_text(state.model_dump_json())

    assert await FileStateDatabase(path).load() == {"default": ModelPoolSettings(desired_state=state)}


async def test_memory_is_the_default_kind() -> None:
    assert isinstance(open_state_database("memory://"), MemoryStateDatabase)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file://relative/state.json", "absolute path"),
        ("file:relative.json", "must be absolute"),
        ("redis://localhost", "unsupported state database"),
        ("etcd:///paddler", "names no etcd endpoint"),
        ("etcd://127.0.0.1:2379,/paddler", "names no etcd endpoint"),
        ("etcd://127.0.0.1/paddler", "is not HOST:PORT"),
        ("etcd://127.0.0.1:99999/paddler", "is not HOST:PORT"),
        ("etcd://127.0.0.1:2379", "has no prefix"),
        ("etcd://127.0.0.1:2379/", "has no prefix"),
        ("etcd://127.0.0.1:2379/with space", "printable ASCII"),
    ],
)
def test_unusable_urls_are_refused_with_a_message(url: str, message: str) -> None:
    with pytest.raises(StateDatabaseError, match=message):
        open_state_database(url)


async def test_a_corrupt_file_is_reported_not_silently_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")

    with pytest.raises(StateDatabaseError, match="no valid pools"):
        await FileStateDatabase(path).load()


async def test_an_etcd_url_names_its_endpoints_and_prefix() -> None:
    database = open_state_database("etcd://10.0.0.1:2379,10.0.0.2:2379/paddler/prod/")

    assert isinstance(database, EtcdStateDatabase)
    assert database.client.endpoints == ["10.0.0.1:2379", "10.0.0.2:2379"]
    assert database.prefix == "/paddler/prod"
    await database.client.close()


async def test_an_unreachable_etcd_refuses_a_change_naming_etcd_and_reports_it() -> None:
    # Nothing listens on a port just freed.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = open_state_database(f"etcd://127.0.0.1:{port}/paddler")
    assert isinstance(database, EtcdStateDatabase)

    with pytest.raises(StateDatabaseUnavailable, match=f"etcd at 127.0.0.1:{port}"):
        await database.store({})

    assert database.health()["reachable"] is False
    assert "unreachable" in (database.health()["error"] or "")
    await database.client.close()
