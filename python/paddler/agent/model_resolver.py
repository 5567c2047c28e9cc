"""Turns a desired model into a file on this machine: a local path, a URL
download (resumable) or a Hugging Face download.

A URL is whatever the management API was given, so a download is bounded: its
size (--max-model-download-bytes, refused from the Content-Length at once, or
stopped when a stream passes it), the disk it may fill (it stops while some
free space is left) and the redirects it follows. Each refusal is an issue.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
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


# A real GGUF file is at most a few hundred GiB (the largest models come split
# into files of 50 GB or less, Hugging Face's limit per file, and a single
# file of an unquantized 120B model is about 240 GB): the default stops an
# endless stream without refusing any real model.
DEFAULT_MAX_DOWNLOAD_BYTES = 512 * 2**30
# Enough for a redirect to a CDN and a signed URL or two; a loop ends here.
MAX_REDIRECTS = 10
# A download stops while this much of its disk is still free: the agent, its
# logs and the rest of the machine need some.
DEFAULT_MIN_FREE_DISK_BYTES = 2**30
# Free disk space is checked again after every this many bytes received.
_DISK_CHECK_EVERY_BYTES = 64 * 2**20


@dataclass(frozen=True, slots=True)
class DownloadLimits:
    # The largest model file a URL download may bring; 0: no limit.
    max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    min_free_disk_bytes: int = DEFAULT_MIN_FREE_DISK_BYTES
    max_redirects: int = MAX_REDIRECTS


DEFAULT_DOWNLOAD_LIMITS = DownloadLimits()


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
    def __init__(
        self,
        cache_dir: Path,
        on_progress: Callable[[DownloadProgress], None],
        limits: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS,
    ) -> None:
        self._cache_dir = cache_dir
        self._on_progress = on_progress
        self._limits = limits

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
        except httpx.TooManyRedirects:
            problem = f"{url}: more than {self._limits.max_redirects} redirects (a redirect loop?)"
            return ResolveFailed(issue("ModelCannotBeDownloaded", problem), retry=True)
        except (httpx.HTTPError, OSError) as error:
            return ResolveFailed(issue("ModelCannotBeDownloaded", f"{url}: {error}"), retry=True)
        except _NotFound as error:
            return ResolveFailed(issue("ModelFileDoesNotExist", f"{url}: {error}"), retry=True)
        except _Refused as refused:
            # What was received cannot be resumed into anything wanted: it goes.
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            return ResolveFailed(issue("ModelCannotBeDownloaded", f"{url}: {refused}"), retry=refused.retry)
        finally:
            self._on_progress(NO_DOWNLOAD)
        partial.replace(target)
        return target

    async def _fetch(self, url: str, partial: Path, filename: str) -> None:
        # What an interrupted download left is kept and continued with a
        # Range request; a server that ignores Range sends it all again.
        have = _size(partial)
        # Identity: a compressed body could not be resumed by byte ranges,
        # and its size on disk would not be its Content-Length.
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        timeout = httpx.Timeout(30.0, read=60.0)
        async with (
            httpx.AsyncClient(
                follow_redirects=True, max_redirects=self._limits.max_redirects, timeout=timeout
            ) as client,
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
            limit = self._limits.max_bytes
            if limit and total > limit:
                raise _Refused(
                    f"the model is {total} bytes, more than --max-model-download-bytes ({limit})", retry=False
                )
            folder = partial.parent
            await asyncio.to_thread(self._check_free_disk, folder, max(total - have, 0))
            current = have
            checked_at = current
            self._on_progress(DownloadProgress(filename, current, total, indeterminate=total == 0))
            with partial.open("ab" if have else "wb") as file:
                # Unsized chunks: every byte received is on disk before an error can
                # interrupt, so a resumed download starts exactly where this one ended.
                async for chunk in response.aiter_bytes():
                    if limit and current + len(chunk) > limit:
                        raise _Refused(
                            f"the download passed --max-model-download-bytes ({limit}) without ending; "
                            "stopped, and what it had received removed",
                            retry=False,
                        )
                    file.write(chunk)
                    current += len(chunk)
                    if current - checked_at >= _DISK_CHECK_EVERY_BYTES:
                        checked_at = current
                        await asyncio.to_thread(self._check_free_disk, folder, 0)
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

    def _check_free_disk(self, folder: Path, still_to_come: int) -> None:
        """Raises _Refused unless `still_to_come` bytes fit with the reserve left free."""
        free = shutil.disk_usage(folder).free
        needed = still_to_come + self._limits.min_free_disk_bytes
        if free < needed:
            raise _Refused(
                f"not enough free disk space in {folder}: {free} bytes free, "
                f"{still_to_come} more to download and {self._limits.min_free_disk_bytes} to keep free",
                # Space may be freed; the next attempt checks again before it downloads.
                retry=True,
            )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class _NotFound(Exception):
    pass


class _Refused(Exception):
    """A download this agent's limits do not allow."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry
