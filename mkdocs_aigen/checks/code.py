"""Check drafted code samples: parse, optionally run or resolve imports, never trust them.

Per language (case-insensitive):

* python/py/python3/py3 -- ``syntax``: ``ast.parse`` + ``compile``, and every import names a module
  that exists (the standard library, the documented ``package`` or an installed distribution: a
  sample importing an invented module is ``invalid``, so it is re-sampled); ``run``: then execute
  in :mod:`mkdocs_aigen.checks.sandbox`; ``import``: then every name the sample takes from the
  documented ``package`` (import statements, and attribute chains on names such an
  import binds, e.g. ``json.dumps_fancy``) must exist -- resolved in the sandbox
  (:mod:`mkdocs_aigen.checks.imports`).
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
from dataclasses import dataclass
from typing import Callable, Literal

from mkdocs_aigen.checks.imports import check_package_references, invented_imports
from mkdocs_aigen.checks.sample_error import public_error
from mkdocs_aigen.checks.sandbox import (
    SAFE_PATH,
    SAMPLE_FILENAME,
    SandboxResult,
    os_boundary,
    run_sandboxed,
)

Status = Literal["ok", "invalid", "unchecked"]
VERIFY_MODES = ("off", "syntax", "run", "import")

RUN_TIMEOUT_S = 5.0
SHELL_TIMEOUT_S = 5.0
_ERROR_MAX_CHARS = 200


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
    invented = invented_imports(tree, package)
    if invented:
        line, module = invented[0]
        return "invalid", f"ModuleNotFoundError: No module named {module!r} (line {line})"
    if mode == "run" and os_boundary().available:  # without the OS boundary: syntax only
        return _run_verdict(run_sandboxed(code, timeout=RUN_TIMEOUT_S), code)
    if mode == "import" and package:
        return check_package_references(tree, package, resolved)
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
