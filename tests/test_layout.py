"""The package's shape: ml/ stands alone, no import cycles, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mkdocs_aigen"
GROUND_FLOOR = {"mkdocs_aigen.errors", "mkdocs_aigen.safeio", "mkdocs_aigen.progress", "mkdocs_aigen.markdown",
                "mkdocs_aigen.ranking"}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """Modules that ``name`` imports (relative imports resolved; ``from pkg import mod`` counted as pkg.mod)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    known = modules()
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    return found


def test_ml_imports_neither_mkdocs_nor_the_plugin():
    offenders = {}
    for name, path in modules().items():
        if not name.startswith("mkdocs_aigen.ml"):
            continue
        bad = {m for m in imports(name, path)
               if m == "mkdocs" or m.startswith("mkdocs.")
               or (m.startswith("mkdocs_aigen") and not m.startswith("mkdocs_aigen.ml") and m not in GROUND_FLOOR)}
        if bad:
            offenders[name] = sorted(bad)
    assert not offenders


def test_no_import_cycles():
    known = modules()
    graph = {name: {m for m in imports(name, path, top_level_only=True) if m in known and m != name}
             for name, path in known.items()}
    # a package's __init__ importing its own submodules is not a cycle between modules
    for name in graph:
        graph[name] = {m for m in graph[name] if not (m.startswith(name + ".") and known[name].name == "__init__.py")}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles


def test_no_module_is_over_400_lines():
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
