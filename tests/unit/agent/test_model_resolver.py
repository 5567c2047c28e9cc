"""URL downloads against a real local HTTP server: the free disk space they
must leave is checked before a byte is written and again as they go."""

from __future__ import annotations

import shutil
from pathlib import Path

from paddler.agent.model_resolver import DownloadLimits, DownloadProgress, ModelResolver, ResolveFailed
from paddler.protocol.agent_desired_model import Url
from tests.hostile_model_server import hostile_model_server


def leftovers(cache_dir: Path) -> list[Path]:
    return list(cache_dir.rglob("*.part"))


def resolver(cache_dir: Path, limits: DownloadLimits) -> ModelResolver:
    def ignore(_: DownloadProgress) -> None:
        pass

    return ModelResolver(cache_dir, ignore, limits)


async def test_a_download_that_would_not_leave_the_reserve_free_is_refused_before_it_starts(
    tmp_path: Path,
) -> None:
    free = shutil.disk_usage(tmp_path).free
    with hostile_model_server() as server:
        url = server.url("/model.gguf")
        outcome = await resolver(tmp_path, DownloadLimits(min_free_disk_bytes=free)).resolve(
            Url.model_validate({"Url": {"url": url}})
        )
    assert isinstance(outcome, ResolveFailed)
    assert outcome.retry  # space may be freed
    assert isinstance(outcome.issue, dict)
    (problem,) = outcome.issue.values()
    assert list(outcome.issue) == ["ModelCannotBeDownloaded"]
    assert "not enough free disk space" in problem
    assert f"{len(server.model)} more to download" in problem
    assert not leftovers(tmp_path)


async def test_a_download_without_a_length_stops_when_the_disk_nears_the_reserve(tmp_path: Path) -> None:
    # Room for a few MiB more than is free now: the check after the first
    # 64 MiB written finds the reserve reached.
    reserve = shutil.disk_usage(tmp_path).free - 8 * 2**20
    with hostile_model_server() as server:
        url = server.url("/endless/model.gguf")
        outcome = await resolver(tmp_path, DownloadLimits(max_bytes=0, min_free_disk_bytes=reserve)).resolve(
            Url.model_validate({"Url": {"url": url}})
        )
    assert isinstance(outcome, ResolveFailed)
    assert "not enough free disk space" in str(outcome.issue)
    assert server.endless_sent >= 64 * 2**20
    assert not leftovers(tmp_path)
