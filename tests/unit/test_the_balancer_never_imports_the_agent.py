import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "paddler"


def imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_the_balancer_never_imports_the_agent() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "balancer").rglob("*.py")
        for module in imported_modules(path)
        if module == "paddler.agent" or module.startswith("paddler.agent.")
    ]

    assert offenders == []


def test_the_protocol_imports_nothing_else_from_paddler() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / "protocol").rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("paddler.") and not module.startswith("paddler.protocol")
    ]

    assert offenders == []
