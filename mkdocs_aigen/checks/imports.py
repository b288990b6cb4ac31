"""What a Python sample imports and takes from the documented package.

``verify_code: import``: every name a sample takes from the documented package must exist. References
come from import statements and attribute chains on names such an import binds (e.g.
``json.dumps_fancy``); they are resolved by importing the package in the sandbox, never here.

Every mode: a sample may import only modules that exist somewhere -- the standard library, the
documented package, or an installed distribution (found without importing it).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from collections import defaultdict
from functools import lru_cache

from mkdocs_aigen.checks.sandbox import run_sandboxed

IMPORT_TIMEOUT_S = 20.0
IMPORT_MEMORY_MB = 2048  # heavy packages (torch) map ~1 GiB of address space on import
_RESOLVER_SENTINEL = "aigen-import-check:"


_RESOLVER = """
import importlib, json, sys

def resolve(path, must_be_module):
    if must_be_module:
        try:
            importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name and (path == exc.name or path.startswith(exc.name + ".")):
                return "missing", f"ModuleNotFoundError: No module named {exc.name!r}"
            raise
        return None
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for depth, part in enumerate(parts[1:], start=1):
        prefix = ".".join(parts[:depth])
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        if isinstance(obj, type(sys)) and hasattr(obj, "__path__"):
            try:
                obj = importlib.import_module(prefix + "." + part)
                continue
            except ModuleNotFoundError as exc:
                if exc.name != prefix + "." + part:
                    raise
        return "missing", f"AttributeError: {prefix!r} has no attribute {part!r}"
    return None

report = {"package_error": None, "results": []}
try:
    importlib.import_module(PACKAGE)
except BaseException as exc:
    report["package_error"] = f"{type(exc).__name__}: {exc}"
else:
    for path, must_be_module in REFERENCES:
        try:
            report["results"].append(resolve(path, must_be_module))
        except BaseException as exc:
            report["results"].append(("error", f"{type(exc).__name__}: {exc}"))
print()
print(SENTINEL + json.dumps(report))
"""


def check_package_references(tree: ast.Module, package: str, resolved: dict) -> tuple[str, str | None]:
    references = package_references(tree, package)
    pending = sorted({ref[1:] for ref in references} - resolved.keys())
    if pending:
        report = _resolve_in_sandbox(package, pending)
        if report is None or report["package_error"]:
            reason = report["package_error"] if report else "the import check did not finish"
            return "unchecked", f"cannot import documented package {package!r}: {reason}"
        resolved.update(zip(pending, (tuple(r) if r else None for r in report["results"])))
    for lineno, path, must_be_module in references:
        outcome = resolved[(path, must_be_module)]
        if outcome is not None:
            kind, message = outcome
            if kind == "error":
                resolved.pop((path, must_be_module))  # an environment problem may go away
                return "unchecked", f"importing {path} failed: {message} (line {lineno})"
            return "invalid", f"{message} (line {lineno})"
    return "ok", None


def _resolve_in_sandbox(package: str, references: list[tuple[str, bool]]) -> dict | None:
    script = f"PACKAGE = {package!r}\nREFERENCES = {references!r}\nSENTINEL = {_RESOLVER_SENTINEL!r}\n" + _RESOLVER
    result = run_sandboxed(script, timeout=IMPORT_TIMEOUT_S, memory_mb=IMPORT_MEMORY_MB)
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(_RESOLVER_SENTINEL):
            return json.loads(line[len(_RESOLVER_SENTINEL) :])
    return None


def invented_imports(tree: ast.Module, package: str | None) -> list[tuple[int, str]]:
    """(line, top-level module) for each import of a module that exists nowhere: not the standard
    library, not the documented ``package``, not an installed distribution."""
    documented = package.split(".")[0] if package else None
    invented = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top != documented and not module_exists(top):
                invented.append((node.lineno, top))
    return sorted(set(invented))


@lru_cache(maxsize=1024)
def module_exists(top: str) -> bool:
    """Whether a top-level module is in the standard library or installed (its spec is found; nothing
    is imported)."""
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def package_references(tree: ast.Module, package: str, bare: bool = False) -> list[tuple[int, str, bool]]:
    """(line, dotted path, must be a module) for everything the sample takes from ``package``.

    Covers ``import pkg.mod``, ``from pkg.mod import name`` and attribute chains such as
    ``pkg.mod.name`` on names bound only by one such import. ``bare``: the package's name is bound
    without an import too (a snippet in prose, such as ``pkg.mod.name()``).
    """
    references = []
    bindings: dict[str, set[str | None]] = defaultdict(set)
    if bare:
        top = package.split(".")[0]
        bindings[top].add(top)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                references.append((node.lineno, alias.name, True))
                bound = alias.name if alias.asname else alias.name.split(".")[0]
                bindings[alias.asname or bound].add(bound)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if node.level or node.module is None:
                    bindings[alias.asname or alias.name].add(None)
                elif alias.name == "*":
                    references.append((node.lineno, node.module, True))
                else:
                    path = f"{node.module}.{alias.name}"
                    references.append((node.lineno, path, False))
                    bindings[alias.asname or alias.name].add(path)
        else:
            for name in _bound_names(node):
                bindings[name].add(None)
    stable = {name: paths.pop() for name, paths in bindings.items() if len(paths) == 1 and None not in paths}
    for node in ast.walk(tree):
        chain = _attribute_chain(node)
        if chain and chain[0] in stable:
            references.append((node.lineno, ".".join([stable[chain[0]], *chain[1:]]), False))
    inside = [ref for ref in references if _is_within_package(ref[1], package)]
    return sorted(set(inside), key=lambda ref: (ref[0], len(ref[1])))


def _bound_names(node: ast.AST) -> list[str]:
    """Names a non-import node binds (assignment targets, parameters, defs, handlers)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _attribute_chain(node: ast.AST) -> list[str] | None:
    """``["a", "b", "c"]`` for a loaded ``a.b.c``, else None."""
    if not (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)):
        return None
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(attributes)]


def _is_within_package(path: str, package: str) -> bool:
    return path == package or path.startswith(package + ".")
