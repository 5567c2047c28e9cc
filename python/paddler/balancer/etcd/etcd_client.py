"""A small etcd v3 client over etcd's own HTTP/JSON gateway (`/v3/...`, served by every etcd
from 3.4 on the client port): the few calls the balancer needs, on the event loop, with no gRPC.

Keys and values are bytes (base64 on the wire, as the gateway wants). Revisions come back as
strings from the gateway (int64 in JSON) and leave here as ints. Endpoints are tried in turn:
a call that cannot reach one goes to the next, and the one that answered is tried first after.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

# A call that gets no answer within this is counted as unreachable (etcd answers in ms).
CALL_TIMEOUT_S = 3.0


class EtcdUnavailable(Exception):
    """No endpoint answered, or the one that did refused the call."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    mod_revision: int
    create_revision: int
    lease: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    kind: str  # "PUT" or "DELETE"
    kv: KeyValue


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    # What the failure branch read (a range on the compared key), when it failed.
    current: KeyValue | None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kv(raw: dict[str, Any]) -> KeyValue:
    return KeyValue(
        key=base64.b64decode(raw.get("key", "")),
        value=base64.b64decode(raw.get("value", "")),
        mod_revision=int(raw.get("mod_revision", 0)),
        create_revision=int(raw.get("create_revision", 0)),
        lease=int(raw.get("lease", 0)),
    )


def prefix_end(prefix: bytes) -> bytes:
    """The end of the range of every key that starts with `prefix` (etcd's convention)."""
    end = bytearray(prefix)
    for index in range(len(end) - 1, -1, -1):
        if end[index] < 0xFF:
            end[index] += 1
            return bytes(end[: index + 1])
    return b"\0"


class EtcdClient:
    def __init__(self, endpoints: list[str]) -> None:
        if not endpoints:
            raise ValueError("etcd needs at least one endpoint")
        self.endpoints = list(endpoints)
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(CALL_TIMEOUT_S))

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        last_error = "no endpoint"
        for endpoint in list(self.endpoints):
            try:
                response = await self._http.post(f"http://{endpoint}{path}", content=orjson.dumps(body))
            except httpx.HTTPError as error:
                last_error = f"{endpoint}: {error or type(error).__name__}"
                continue
            if response.status_code != 200:
                # A member without quorum refuses; another member may have it.
                last_error = f"{endpoint} answered {response.status_code}: {response.text[:200]}"
                continue
            if endpoint != self.endpoints[0]:
                self.endpoints.remove(endpoint)
                self.endpoints.insert(0, endpoint)
            decoded = orjson.loads(response.content)
            if not isinstance(decoded, dict):
                raise EtcdUnavailable(f"etcd at {endpoint} answered something that is not an object")
            return decoded
        raise EtcdUnavailable(f"etcd is unreachable ({last_error})")

    async def get(self, key: bytes) -> tuple[KeyValue | None, int]:
        """The key's value (None: absent) and the store's revision."""
        answer = await self._call("/v3/kv/range", {"key": _b64(key)})
        kvs = answer.get("kvs") or []
        return (_kv(kvs[0]) if kvs else None), int(answer.get("header", {}).get("revision", 0))

    async def get_prefix(self, prefix: bytes) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, and the store's revision."""
        answer = await self._call(
            "/v3/kv/range", {"key": _b64(prefix), "range_end": _b64(prefix_end(prefix))}
        )
        kvs = [_kv(raw) for raw in answer.get("kvs") or []]
        return kvs, int(answer.get("header", {}).get("revision", 0))

    async def put(self, key: bytes, value: bytes, lease: int = 0) -> None:
        put: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        await self._call("/v3/kv/put", put)

    async def put_if(self, key: bytes, value: bytes, mod_revision: int, lease: int = 0) -> TxnResult:
        """Writes `value` if the key was last changed at `mod_revision` (0: if it is absent)."""
        if mod_revision:
            compare = {
                "key": _b64(key),
                "target": "MOD",
                "result": "EQUAL",
                "mod_revision": str(mod_revision),
            }
        else:
            compare = {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        put: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        answer = await self._call(
            "/v3/kv/txn",
            {
                "compare": [compare],
                "success": [{"request_put": put}],
                "failure": [{"request_range": {"key": _b64(key)}}],
            },
        )
        revision = int(answer.get("header", {}).get("revision", 0))
        if answer.get("succeeded"):
            return TxnResult(True, revision, None)
        current = None
        for response in answer.get("responses") or []:
            kvs = (response.get("response_range") or {}).get("kvs") or []
            if kvs:
                current = _kv(kvs[0])
        return TxnResult(False, revision, current)

    async def delete_if(self, key: bytes, lease: int) -> None:
        """Deletes the key if it is still held by `lease` (a leader stepping down)."""
        await self._call(
            "/v3/kv/txn",
            {
                "compare": [{"key": _b64(key), "target": "LEASE", "result": "EQUAL", "lease": str(lease)}],
                "success": [{"request_delete_range": {"key": _b64(key)}}],
            },
        )

    async def grant_lease(self, ttl_s: int) -> int:
        answer = await self._call("/v3/lease/grant", {"TTL": str(ttl_s)})
        lease = int(answer.get("ID", 0))
        if not lease:
            raise EtcdUnavailable(f"etcd granted no lease: {answer.get('error', answer)}")
        return lease

    async def keep_alive(self, lease: int) -> int:
        """Renews the lease once; returns the seconds it has left (0: it expired)."""
        answer = await self._call("/v3/lease/keepalive", {"ID": str(lease)})
        return int((answer.get("result") or {}).get("TTL", 0))

    async def revoke_lease(self, lease: int) -> None:
        await self._call("/v3/lease/revoke", {"ID": str(lease)})

    async def watch(self, key: bytes, start_revision: int, prefix: bool = False) -> AsyncIterator[WatchEvent]:
        """The key's changes (`prefix`: those of every key under it) from `start_revision` on, as
        they happen. Ends by raising EtcdUnavailable when the stream breaks; the caller watches
        again from the revision after the last event it saw (the endpoint that failed goes to the
        back of the list)."""
        request = {"key": _b64(key), "start_revision": str(start_revision)}
        if prefix:
            request["range_end"] = _b64(prefix_end(key))
        body = orjson.dumps({"create_request": request})
        endpoint = self.endpoints[0]
        try:
            # No read timeout: a quiet key sends nothing for as long as it stays quiet.
            timeout = httpx.Timeout(CALL_TIMEOUT_S, read=None)
            async with self._http.stream(
                "POST", f"http://{endpoint}/v3/watch", content=body, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    raise EtcdUnavailable(f"etcd at {endpoint} refused the watch: {response.status_code}")
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    message = orjson.loads(line)
                    result = message.get("result") if isinstance(message, dict) else None
                    if result is None:
                        raise EtcdUnavailable(f"etcd at {endpoint} ended the watch: {line[:200]}")
                    if result.get("canceled"):
                        reason = result.get("cancel_reason", "")
                        raise EtcdUnavailable(f"etcd at {endpoint} cancelled the watch: {reason}")
                    for event in result.get("events") or []:
                        yield WatchEvent(event.get("type", "PUT"), _kv(event.get("kv") or {}))
            raise EtcdUnavailable(f"etcd at {endpoint} closed the watch")
        except (httpx.HTTPError, orjson.JSONDecodeError) as error:
            if len(self.endpoints) > 1 and self.endpoints[0] == endpoint:
                self.endpoints.append(self.endpoints.pop(0))
            raise EtcdUnavailable(f"etcd at {endpoint}: {error or type(error).__name__}") from error
