"""Run untrusted Python (model-drafted code samples) in a contained subprocess.

Layers, outermost first (``active_layers()`` reports the ones in effect here):

1. ``os-boundary`` -- the boundary ``verify_code: run`` relies on, built by the OS, so it holds even
   when the sample tampers with the Python runtime (gc, ctypes, frames). Where ``unshare``
   (util-linux) can be run as root, the child starts in fresh mount, network, PID, IPC and UTS
   namespaces and, before any sample code exists, makes every mount read-only except a private
   size-capped tmpfs working directory, mounts its own ``/proc``, masks ``/run`` and drops to
   ``nobody`` with ``no_new_privs`` (see :mod:`mkdocs_aigen.checks.sandbox_child`). So writes
   outside the working directory fail whatever the API (open, sqlite, mkfifo, link, rename), files
   that are not world-readable stay unreadable, there is no network (not even loopback), and
   processes are capped by ``RLIMIT_NPROC`` and all die with the namespace. :func:`os_boundary`
   probes once per process that a deliberate escape (write, root-only read, connect) fails here.
   Without it (not root, no ``unshare``, a kernel or container that forbids the namespaces), the
   code checker refuses ``run`` with one warning and checks syntax instead; ``import`` mode still
   resolves names with the inner layers alone.
2. ``process-group`` -- a new session; on timeout (and after every run) the whole group is killed.
3. ``rlimits`` -- hard limits set in the child before the sample runs: address space, CPU seconds,
   file size, open files, processes, no core dumps.
4. ``clean-env`` -- ``python -I``; cwd, ``HOME`` and ``TMPDIR`` the working directory; environment
   reduced to ``PATH=/usr/bin:/bin``, ``LANG`` and a few one-thread caps; stdin ``/dev/null``;
   output to files, only its tail kept.
5. ``audit-hook`` -- an in-process hook blocks sockets, processes and signals, ctypes calls, and
   file access outside the working directory; it turns attempts into ``SandboxResult.blocked``
   events (so the verdict says *unchecked*), but containment never depends on it.

The child reports the sample's exception (type, message, line) and the blocked events through a
file descriptor of their own; they are untrusted input, bounded and filtered here, and
:mod:`mkdocs_aigen.checks.sample_error` decides what of them may be published.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mkdocs_aigen.checks import sandbox_child

SAFE_PATH = "/usr/bin:/bin"
SAMPLE_FILENAME = "sample.py"
_KILL_WAIT_S = 2.0
_REPORT_MAX_BYTES = 8192
_NAMESPACES = ("--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child")


@dataclass(frozen=True)
class SampleFailure:
    """How the sample ended, as the child reported it (untrusted: bounded, not yet publishable)."""

    type_name: str
    message: str
    line: int | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one sandboxed run; ``error`` is set when the sandbox itself failed."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    error: str | None = None
    blocked: tuple[str, ...] = ()
    duration_s: float = 0.0
    failure: SampleFailure | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


@dataclass(frozen=True)
class Boundary:
    """The OS boundary here: ``prefix`` starts a child inside it; ``problem`` says why there is none."""

    prefix: tuple[str, ...] = ()
    user: int = -1
    problem: str | None = None

    @property
    def available(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.problem:
            return f"none ({self.problem})"
        return f"unshare {' '.join(_NAMESPACES[:5])}, read-only mounts, uid {self.user}"


def run_sandboxed(
    code: str,
    *,
    timeout: float = 5.0,
    memory_mb: int = 256,
    max_processes: int = 16,
    max_file_mb: int = 16,
    max_open_files: int = 256,
    output_limit: int = 4096,
    sys_path: list[str] | None = None,
) -> SandboxResult:
    """Run ``code`` as ``__main__`` in a contained child Python and collect its output.

    Inside the OS boundary when this machine has one (see :func:`os_boundary`), else with the inner
    layers only. ``sys_path`` entries are appended to the child's path (default: this interpreter's,
    so installed packages resolve); at most the last ``output_limit`` characters of output are kept.
    """
    return _run(code, os_boundary(), timeout=timeout, memory_mb=memory_mb, max_processes=max_processes,
                max_file_mb=max_file_mb, max_open_files=max_open_files, output_limit=output_limit,
                sys_path=_inherited_sys_path() if sys_path is None else list(sys_path), audit_hook=True)


def active_layers() -> tuple[str, ...]:
    """Names of the containment layers in effect on this machine (see module doc)."""
    inner = ("process-group", "rlimits", "clean-env", "audit-hook")
    return ("os-boundary", *inner) if os_boundary().available else inner


@functools.lru_cache(maxsize=1)
def os_boundary() -> Boundary:
    """The OS boundary, probed once per process: a hook-less child must fail to escape it."""
    unshare = shutil.which("unshare", path=SAFE_PATH)
    if unshare is None:
        return Boundary(problem="util-linux unshare not found")
    if os.geteuid() != 0:
        return Boundary(problem="unshare needs root to hand samples to an unprivileged user")
    try:
        user = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        user = 65534
    candidate = Boundary((unshare, *_NAMESPACES, "--"), user)
    problem = _escape_problem(candidate)
    return Boundary(problem=problem) if problem else candidate


def _escape_problem(candidate: Boundary) -> str | None:
    """Try a write to the shared temp dir, a root-only read and a connection without the audit hook."""
    outside = Path(tempfile.gettempdir(), f"aigen-probe-{uuid.uuid4().hex}")
    secret_dir = Path(tempfile.mkdtemp(prefix="aigen-probe-"))
    secret = secret_dir / "secret"
    secret.write_text("probe")
    secret.chmod(0o600)
    secret_dir.chmod(0o755)
    code = (
        "import socket\nescapes = []\n"
        f"for name, attempt in (('write', lambda: open({str(outside)!r}, 'w')),\n"
        f"                      ('read', lambda: open({str(secret)!r}).read()),\n"
        "                      ('network', lambda: socket.create_connection(('127.0.0.1', 9), 1))):\n"
        "    try:\n        attempt()\n        escapes.append(name)\n    except OSError:\n        pass\n"
        "print('ESCAPES=' + ','.join(escapes))\n"
    )
    try:
        result = _run(code, candidate, timeout=10.0, memory_mb=256, max_processes=16, max_file_mb=1,
                      max_open_files=64, output_limit=4096, sys_path=[], audit_hook=False)
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
        escaped_file = outside.exists()
        outside.unlink(missing_ok=True)
    last = (result.stdout.strip().splitlines() or [""])[-1]
    if escaped_file or (last.startswith("ESCAPES=") and last != "ESCAPES="):
        return f"a probe escaped it ({last.removeprefix('ESCAPES=') or 'write'})"
    if not result.ok or last != "ESCAPES=":
        detail = (result.error or result.stderr.strip() or f"exit status {result.returncode}").splitlines()[-1]
        return f"it could not be built: {detail[:120]}"
    return None


def minimal_environment(home: str) -> dict[str, str]:
    """The whole environment a sandboxed child gets."""
    env = {
        "PATH": SAFE_PATH,
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))
    return env


def _run(code: str, boundary: Boundary, *, timeout: float, memory_mb: int, max_processes: int,
         max_file_mb: int, max_open_files: int, output_limit: int, sys_path: list[str],
         audit_hook: bool) -> SandboxResult:
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="aigen-sandbox-")
    try:
        sample_path = os.path.join(workdir, SAMPLE_FILENAME)
        Path(sample_path).write_text(code, encoding="utf-8")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.TemporaryFile() as report:
            config = {
                "root": workdir,
                "sample": sample_path,
                "sys_path": sys_path,
                "deny_read": [home for home in [str(Path.home().resolve())] if home != "/"],
                "confine": boundary.available,
                "user": boundary.user,
                "workdir_mb": 4 * max_file_mb,
                "audit_hook": audit_hook,
                "report_fd": report.fileno(),
                "limits": {
                    "RLIMIT_AS": memory_mb * 2**20,
                    "RLIMIT_CPU": int(timeout) + 1,
                    "RLIMIT_FSIZE": max_file_mb * 2**20,
                    "RLIMIT_NOFILE": max_open_files,
                    "RLIMIT_NPROC": max_processes,
                    "RLIMIT_CORE": 0,
                },
            }
            argv = [*boundary.prefix, sys.executable, "-I", "-B", sandbox_child.__file__, json.dumps(config)]
            returncode, timed_out, error = _wait_contained(argv, workdir, (out, err, report), timeout)
            stdout = _read_tail(out, output_limit)
            stderr = _read_tail(err, output_limit)
            blocked, failure = _read_report(report)
    finally:
        _remove_tree(workdir)
    if boundary.available and returncode == sandbox_child.BOUNDARY_FAILED:
        error = "the sandbox boundary could not be built"
    return SandboxResult(returncode, stdout, stderr, timed_out, error, blocked, time.monotonic() - started,
                         failure)


def _wait_contained(
    argv: list[str], workdir: str, files: tuple[IO[bytes], IO[bytes], IO[bytes]], timeout: float
) -> tuple[int | None, bool, str | None]:
    """Start the child in its own session; kill its whole group when done or late."""
    out, err, report = files
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=minimal_environment(workdir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=(report.fileno(),),
            start_new_session=True,
        )
    except OSError as exc:
        return None, False, f"could not start sandbox: {exc}"
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc.pid)
    returncode = proc.wait()
    return (None if timed_out else returncode), timed_out, None


def _read_report(stream: IO[bytes]) -> tuple[tuple[str, ...], SampleFailure | None]:
    """Blocked events (known names only) and the failure, from the child's untrusted JSON report."""
    stream.seek(0)
    try:
        report = json.loads(stream.read(_REPORT_MAX_BYTES).decode("utf-8"))
    except ValueError:
        return (), None
    if not isinstance(report, dict):
        return (), None
    events = report.get("blocked")
    blocked = tuple(sorted({e for e in events if e in sandbox_child.KNOWN_EVENTS})) if isinstance(events, list) else ()
    failure = report.get("failure")
    if not (isinstance(failure, dict) and isinstance(failure.get("type"), str)
            and isinstance(failure.get("message"), str)):
        return blocked, None
    line, exit_code = failure.get("line"), failure.get("exit_code")
    return blocked, SampleFailure(
        failure["type"][:60], failure["message"][:400],
        line if type(line) is int else None, exit_code if type(exit_code) is int else None,
    )


def _kill_group(pgid: int) -> None:
    """SIGKILL the group and wait (briefly) until none of its processes still runs."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + _KILL_WAIT_S
    while _group_is_running(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _group_is_running(pgid: int) -> bool:
    """Whether a non-zombie process of group ``pgid`` exists (Linux /proc; else False)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    for entry in filter(str.isdigit, entries):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def _read_tail(stream: IO[bytes], limit: int) -> str:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - limit))
    text = stream.read().decode("utf-8", errors="replace")
    return f"[... {size - limit} bytes truncated]\n{text}" if size > limit else text


def _remove_tree(path: str) -> None:
    """Delete the work dir even if the sample left read-only directories in it."""
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.exists(path):
        return
    os.chmod(path, 0o700)
    for parent, dirs, _ in os.walk(path):  # top-down: fixed before it descends
        for name in dirs:
            if not os.path.islink(os.path.join(parent, name)):
                os.chmod(os.path.join(parent, name), 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _inherited_sys_path() -> list[str]:
    return [os.path.abspath(entry) for entry in sys.path if entry]
