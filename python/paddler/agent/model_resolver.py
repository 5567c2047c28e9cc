"""Turns a desired model into a file on this machine: a local path, a URL
download (resumable) or a Hugging Face download."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from paddler.protocol.agent_desired_model import AgentDesiredModel, HuggingFace, LocalToAgent, Url
from paddler.protocol.agent_status import AgentIssue, issue


def default_cache_dir() -> Path:
    explicit = os.environ.get("PADDLER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "paddler"
    return Path.home() / ".cache" / "paddler"


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    filename: str | None
    current: int
    total: int
    indeterminate: bool


NO_DOWNLOAD = DownloadProgress(None, 0, 0, False)


@dataclass(frozen=True, slots=True)
class ResolveFailed:
    """Why the model cannot be had; `retry` is False when trying again cannot help."""

    issue: AgentIssue
    retry: bool


class ModelResolver:
    def __init__(self, cache_dir: Path, on_progress: Callable[[DownloadProgress], None]) -> None:
        self._cache_dir = cache_dir
        self._on_progress = on_progress

    async def resolve(self, model: AgentDesiredModel) -> Path | ResolveFailed | None:
        """The model file, why there is none, or None for the "None" model."""
        if isinstance(model, LocalToAgent):
            path = Path(model.LocalToAgent)
            if not await asyncio.to_thread(path.is_file):
                return ResolveFailed(issue("ModelFileDoesNotExist", str(path)), retry=True)
            return path
        if isinstance(model, Url):
            return await self._download_url(model.Url.url)
        if isinstance(model, HuggingFace):
            return await self._download_hugging_face(model)
        return None

    async def _download_url(self, url: str) -> Path | ResolveFailed:
        filename = Path(unquote(urlparse(url).path)).name or "model.gguf"
        folder = self._cache_dir / "url" / hashlib.sha256(url.encode()).hexdigest()[:24]
        target = folder / filename
        if await asyncio.to_thread(target.is_file):
            return target
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        partial = folder / f"{filename}.part"
        try:
            await self._fetch(url, partial, filename)
        except (httpx.HTTPError, OSError) as error:
            return ResolveFailed(issue("ModelCannotBeDownloaded", f"{url}: {error}"), retry=True)
        except _NotFound as error:
            return ResolveFailed(issue("ModelFileDoesNotExist", f"{url}: {error}"), retry=True)
        finally:
            self._on_progress(NO_DOWNLOAD)
        partial.replace(target)
        return target

    async def _fetch(self, url: str, partial: Path, filename: str) -> None:
        # What an interrupted download left is kept and continued with a
        # Range request; a server that ignores Range sends it all again.
        have = _size(partial)
        headers = {"Range": f"bytes={have}-"} if have else {}
        timeout = httpx.Timeout(30.0, read=60.0)
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code == 416 and have:
                return  # nothing left to fetch: the part file is whole
            if response.status_code == 404:
                raise _NotFound(f"HTTP {response.status_code}")
            response.raise_for_status()
            if response.status_code != 206:
                have = 0
            length = int(response.headers.get("content-length", "0") or 0)
            total = have + length if length else 0
            current = have
            self._on_progress(DownloadProgress(filename, current, total, indeterminate=total == 0))
            with partial.open("ab" if have else "wb") as file:
                # Unsized chunks: every byte received is on disk before an error can
                # interrupt, so a resumed download starts exactly where this one ended.
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
                    current += len(chunk)
                    self._on_progress(DownloadProgress(filename, current, total, indeterminate=total == 0))
            if total and current < total:
                raise OSError(f"the download ended after {current} of {total} bytes")

    async def _download_hugging_face(self, model: HuggingFace) -> Path | ResolveFailed:
        # Imported here: it is slow to import and only this path needs it.
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        reference = model.HuggingFace
        name = f"{reference.repo_id}/{reference.filename}@{reference.revision}"
        self._on_progress(DownloadProgress(reference.filename, 0, 0, indeterminate=True))
        try:
            path = await asyncio.to_thread(
                hf_hub_download,
                repo_id=reference.repo_id,
                filename=reference.filename,
                revision=reference.revision,
                cache_dir=self._cache_dir / "huggingface",
            )
        except LocalEntryNotFoundError as error:
            # The hub could not be reached (and the file is not cached): not
            # a missing model, a download to try again.
            return ResolveFailed(issue("ModelCannotBeDownloaded", f"{name}: {error}"), retry=True)
        except GatedRepoError:
            return ResolveFailed(issue("HuggingFacePermissions", name), retry=True)
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
            return ResolveFailed(issue("HuggingFaceModelDoesNotExist", name), retry=True)
        except (HfHubHTTPError, OSError, ValueError) as error:
            return ResolveFailed(issue("ModelCannotBeDownloaded", f"{name}: {error}"), retry=True)
        finally:
            self._on_progress(NO_DOWNLOAD)
        return Path(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class _NotFound(Exception):
    pass
