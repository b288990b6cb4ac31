"""Check drafted code samples: parse, optionally run or resolve imports, never trust them.

Per language (case-insensitive):

* python/py/python3/py3 -- ``syntax``: ``ast.parse`` + ``compile``; ``run``: then execute
  in :mod:`mkdocs_aigen.checks.sandbox`; ``import``: then every name the sample takes from the
  documented ``package`` (import statements, and attribute chains on names such an
  import binds, e.g. ``json.dumps_fancy``) must exist -- resolved in the sandbox.
* pycon -- the ``>>>``/``...`` input lines are checked as Python (output lines ignored).
* json, yaml/yml (syntax only: any tag is accepted, so mkdocs.yml's ``!ENV`` and
  ``!!python/name:`` pass), toml -- parsed.
* bash/sh/shell -- ``bash -n``; console/shell-session -- ``bash -n`` on the ``$ `` command
  lines (a session without prompts is unchecked).
* anything else -- unchecked.

A run that the sandbox had to block (network, files outside, processes) is
``unchecked``, not ``invalid``: the sample was stopped, not proven wrong.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import signal
import subprocess
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Literal

from mkdocs_aigen.checks.sample_error import public_error
from mkdocs_aigen.checks.sandbox import SAFE_PATH, SAMPLE_FILENAME, SandboxResult, os_boundary, run_sandboxed

Status = Literal["ok", "invalid", "unchecked"]
VERIFY_MODES = ("off", "syntax", "run", "import")

RUN_TIMEOUT_S = 5.0
IMPORT_TIMEOUT_S = 20.0
IMPORT_MEMORY_MB = 2048  # heavy packages (torch) map ~1 GiB of address space on import
SHELL_TIMEOUT_S = 5.0
_ERROR_MAX_CHARS = 200
_RESOLVER_SENTINEL = "aigen-import-check:"


@dataclass(frozen=True)
class CodeCheck:
    """Verdict on one sample; ``error`` is one short line when not ``ok``."""

    status: Status
    error: str | None = None
    language: str = ""


def check_code(language: str, code: str, mode: str = "syntax", package: str | None = None,
               resolved: dict | None = None) -> CodeCheck:
    """Check one sample in ``mode`` (one of ``VERIFY_MODES``).

    ``resolved`` memoises import-check outcomes, ``(dotted path, must be a module) -> None`` when it
    resolves else ``(kind, message)``; share one dict within a build, never across builds.
    """
    if mode not in VERIFY_MODES:
        raise ValueError(f"unknown code check mode {mode!r}; use one of {', '.join(VERIFY_MODES)}")
    lang = language.strip().lower()
    if mode == "off":
        return CodeCheck("unchecked", None, lang)
    if not code.strip():
        return CodeCheck("invalid", "empty sample", lang)
    checker = _CHECKERS.get(lang)
    if checker is None:
        return CodeCheck("unchecked", None, lang)
    status, error = checker(code, mode, package, {} if resolved is None else resolved)
    return CodeCheck(status, _one_line(error), lang)


def _one_line(error: str | None) -> str | None:
    if error is None:
        return None
    line = " ".join(error.split())
    return line if len(line) <= _ERROR_MAX_CHARS else line[: _ERROR_MAX_CHARS - 3] + "..."


# ---------------------------------------------------------------- Python


def _check_python(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    try:
        tree = _compile_python(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return "invalid", _describe_compile_error(exc)
    if mode == "run" and os_boundary().available:  # without the OS boundary: syntax only
        return _run_verdict(run_sandboxed(code, timeout=RUN_TIMEOUT_S), code)
    if mode == "import" and package:
        return _check_package_references(tree, package, resolved)
    return "ok", None


def _check_pycon(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    """Check a console transcript's input lines as Python, keeping line numbers."""
    lines = code.splitlines()
    if not any(line.startswith(">>>") for line in lines):
        return "invalid", "pycon sample has no >>> prompt"
    inputs = []
    for line in lines:
        prompt = re.match(r"(>>>|\.\.\.)( |$)", line)
        inputs.append(line[prompt.end() :] if prompt else "")
    return _check_python("\n".join(inputs) + "\n", mode, package, resolved)


def _compile_python(code: str) -> ast.Module:
    """Parse and compile without running; SyntaxWarnings are not errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(code, filename=SAMPLE_FILENAME)
        compile(tree, SAMPLE_FILENAME, "exec", dont_inherit=True)
    return tree


def _describe_compile_error(exc: Exception) -> str:
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"{type(exc).__name__}: {exc.msg}{where}"
    if isinstance(exc, RecursionError):
        return "SyntaxError: sample is nested too deeply to compile"
    return f"{type(exc).__name__}: {exc}"


def _run_verdict(result: SandboxResult, code: str) -> tuple[Status, str | None]:
    if result.error:
        return "unchecked", result.error
    if result.timed_out:
        return "invalid", f"Timeout: still running after {RUN_TIMEOUT_S:g}s"
    if result.returncode == 0:
        return "ok", None
    if result.blocked:
        return "unchecked", f"sandbox blocked {', '.join(result.blocked)}"
    if result.returncode is not None and result.returncode < 0:
        return "invalid", f"killed: {signal.strsignal(-result.returncode) or -result.returncode}"
    if result.failure is not None:
        return "invalid", public_error(result.failure, code)
    return "invalid", f"exit status {result.returncode}"


# ---------------------------------------------------------------- import mode


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


def _check_package_references(tree: ast.Module, package: str, resolved: dict) -> tuple[Status, str | None]:
    references = _package_references(tree, package)
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


def _package_references(tree: ast.Module, package: str) -> list[tuple[int, str, bool]]:
    """(line, dotted path, must be a module) for everything the sample takes from ``package``.

    Covers ``import pkg.mod``, ``from pkg.mod import name`` and attribute chains such as
    ``pkg.mod.name`` on names bound only by one such import.
    """
    references = []
    bindings: dict[str, set[str | None]] = defaultdict(set)
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


# ---------------------------------------------------------------- data formats


def _check_json(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    try:
        json.loads(code)
    except json.JSONDecodeError as exc:
        return "invalid", f"JSONDecodeError: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    return "ok", None


def _check_yaml(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    import yaml

    try:
        for _ in yaml.compose_all(code, Loader=yaml.SafeLoader):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1})" if mark else ""
        return "invalid", f"YAMLError: {exc.problem or exc.context}{where}"
    except yaml.YAMLError as exc:
        return "invalid", f"YAMLError: {exc}"
    return "ok", None


def _check_toml(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        return "unchecked", "TOML needs Python 3.11+ (tomllib)"
    try:
        tomllib.loads(code)
    except tomllib.TOMLDecodeError as exc:
        return "invalid", f"TOMLDecodeError: {exc}"
    return "ok", None


# ---------------------------------------------------------------- shell


def _check_shell(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    """``bash -n``: parses without executing anything."""
    bash = shutil.which("bash", path=SAFE_PATH)
    if bash is None:
        return "unchecked", "bash not found"
    try:
        parsed = subprocess.run(
            [bash, "--norc", "--noprofile", "-n"],
            input=code,
            capture_output=True,
            text=True,
            env={"PATH": SAFE_PATH, "LANG": "C.UTF-8"},
            timeout=SHELL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return "unchecked", f"bash -n took longer than {SHELL_TIMEOUT_S:g}s"
    if parsed.returncode == 0:
        return "ok", None
    first = (parsed.stderr.strip().splitlines() or [f"exit status {parsed.returncode}"])[0]
    located = re.match(r"(?:.*?: )?line (\d+): (.*)", first)
    return "invalid", f"bash: {located[2]} (line {located[1]})" if located else f"bash: {first}"


def _check_console(code: str, mode: str, package: str | None, resolved: dict) -> tuple[Status, str | None]:
    """Check the ``$ `` command lines of a terminal session (output lines blanked)."""
    commands = []
    continued = False
    for line in code.splitlines():
        prompt = re.match(r"\$( |$)", line)
        if prompt or continued:
            command = line[prompt.end() :] if prompt else line
            commands.append(command)
            continued = command.endswith("\\")
        else:
            commands.append("")
    if not any(command.strip() for command in commands):
        return "unchecked", "no $ command lines"
    return _check_shell("\n".join(commands) + "\n", mode, package, resolved)


_Checker = Callable[[str, str, "str | None", dict], tuple[Status, "str | None"]]
_CHECKERS: dict[str, _Checker] = {
    **dict.fromkeys(("python", "py", "python3", "py3"), _check_python),
    "pycon": _check_pycon,
    "json": _check_json,
    **dict.fromkeys(("yaml", "yml"), _check_yaml),
    "toml": _check_toml,
    **dict.fromkeys(("bash", "sh", "shell"), _check_shell),
    **dict.fromkeys(("console", "shell-session"), _check_console),
}
