import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "paddler"


def imports_native_module(source: Path) -> bool:
    tree = ast.parse(source.read_text(), filename=str(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.module == "paddler._core"
            or (node.module == "paddler" and any(alias.name == "_core" for alias in node.names))
        ):
            return True
        if isinstance(node, ast.Import) and any(alias.name == "paddler._core" for alias in node.names):
            return True
    return False


def test_only_the_agent_imports_the_native_module() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if imports_native_module(path) and path.relative_to(PACKAGE).parts[0] != "agent"
    ]

    assert offenders == []
