"""The state database a `--state-database` URL names."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from paddler.balancer.dispatch.state_database import FileStateDatabase, MemoryStateDatabase, StateDatabase
from paddler.balancer.dispatch.state_database_errors import StateDatabaseError
from paddler.balancer.etcd.etcd_state_database import EtcdStateDatabase


def open_state_database(url: str) -> StateDatabase:
    """`memory://`, `file:///absolute/path.json` or `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`;
    raises StateDatabaseError with a message."""
    if url == "memory://":
        return MemoryStateDatabase()
    parsed = urlparse(url)
    if parsed.scheme == "etcd":
        return _open_etcd(url)
    if parsed.scheme != "file":
        raise StateDatabaseError(
            f"unsupported state database {url!r}: use memory://, file:///absolute/path.json "
            "or etcd://HOST:PORT[,HOST:PORT...]/PREFIX"
        )
    if parsed.netloc:
        raise StateDatabaseError(
            f"the state database path in {url!r} is relative (or has a host); "
            "use three slashes and an absolute path: file:///absolute/path.json"
        )
    path = Path(unquote(parsed.path))
    if not path.is_absolute() or not parsed.path:
        raise StateDatabaseError(f"the state database path in {url!r} must be absolute")
    if path.is_dir():
        raise StateDatabaseError(f"the state database path {path} is a folder, not a file")
    return FileStateDatabase(path)


def _open_etcd(url: str) -> EtcdStateDatabase:
    rest = url[len("etcd://") :]
    hosts, _, prefix = rest.partition("/")
    endpoints = [host.strip() for host in hosts.split(",")]
    if not hosts or any(not endpoint for endpoint in endpoints):
        raise StateDatabaseError(f"{url!r} names no etcd endpoint: etcd://HOST:PORT[,HOST:PORT...]/PREFIX")
    for endpoint in endpoints:
        host, separator, port = endpoint.rpartition(":")
        if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StateDatabaseError(f"the etcd endpoint {endpoint!r} in {url!r} is not HOST:PORT")
    prefix = prefix.strip("/")
    if not prefix:
        raise StateDatabaseError(
            f"{url!r} has no prefix: the cluster's keys go under one, as in etcd://HOST:PORT/paddler"
        )
    if any(ord(character) < 0x21 or ord(character) > 0x7E for character in prefix):
        raise StateDatabaseError(f"the etcd prefix {prefix!r} must be printable ASCII without spaces")
    return EtcdStateDatabase(endpoints, "/" + prefix)
