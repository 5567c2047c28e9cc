from pathlib import Path

from tests.unit.test_the_balancer_never_imports_the_agent import PACKAGE, imported_modules

DISPATCH = PACKAGE / "balancer" / "dispatch"
# The services and their shared HTTP plumbing: they use the core, never the other way round.
FORBIDDEN = (
    "starlette",
    "uvicorn",
    "websockets",
    "httpx",
    "paddler.balancer.",
    "paddler.agent",
    "paddler.bootstrap",
)


def forbidden(module: str) -> bool:
    if module.startswith("paddler.balancer.dispatch"):
        return False
    return any(
        module == prefix.rstrip(".") or module.startswith(prefix.rstrip(".") + ".") for prefix in FORBIDDEN
    )


def test_the_dispatch_core_imports_no_framework_and_no_service() -> None:
    scanned: list[Path] = sorted(DISPATCH.rglob("*.py"))
    offenders = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in scanned
        for module in imported_modules(path)
        if forbidden(module)
    ]

    # The relay, the pool and the buffer at least: an empty scan would prove nothing.
    assert {"request_relay.py", "agent_controller_pool.py", "buffered_request_manager.py"} <= {
        path.name for path in scanned
    }
    assert offenders == []


def test_the_check_catches_a_framework_import() -> None:
    assert forbidden("starlette.requests")
    assert forbidden("paddler.balancer.http.http_server")
    assert not forbidden("paddler.balancer.dispatch.mailbox")
    assert not forbidden("paddler.protocol.agent_socket")
