"""Run untrusted Python (model-drafted code samples) in a contained subprocess.

Layers of defence, outermost first (``active_layers()`` reports the ones in effect):

1. ``namespaces`` -- when ``unshare`` works here, the child runs in fresh network and
   PID namespaces (plus a user namespace when not root): no usable network, not even
   loopback, and every process of the sample dies with its PID 1.
2. ``process-group`` -- a new session; on timeout (and after every run) the whole
   process group is SIGKILLed.
3. ``rlimits`` -- set by the child bootstrap before any sample code runs (hard limits,
   so the sample cannot raise them): address space, CPU seconds, file size, open
   files, no core dumps, and ``RLIMIT_NPROC`` (Linux ignores it for real root; without
   a user namespace it counts all the user's processes, so the sample gets no threads).
   Set in the child rather than in ``preexec_fn``, which is unsafe in a threaded parent.
4. ``clean-env`` -- ``python -I`` (isolated mode, no user site); cwd, ``HOME`` and
   ``TMPDIR`` a fresh temporary directory that is deleted afterwards; environment
   reduced to ``PATH=/usr/bin:/bin``, ``LANG``, those, ``PYTHONNOUSERSITE``,
   ``PYTHONDONTWRITEBYTECODE`` and one-thread caps for OpenMP/BLAS; stdin is
   ``/dev/null``; output goes to files and only its tail is kept.
5. ``audit-hook`` -- ``sys.addaudithook``, installed before the sample runs, blocks
   sockets and DNS; process creation and signals (fork, exec, spawn, system,
   ``subprocess``, kill); ``ctypes`` beyond loading installed libraries; writes and
   file-system changes outside the temp dir; device and outside-directory handles;
   and, outside the temp dir and Python's own paths, reads in the parent's home
   directory or of anything not world-readable (``/etc/shadow``, ``/proc/*/environ``),
   so even root reads like nobody.  Blocked events land in ``SandboxResult.blocked``.

Known limits: the audit hook is in-process, so it stops naive and accidental escapes,
not deliberate tampering (frame or gc introspection, ``ctypes.memmove``, an extension
module the sample writes and imports); the OS layers still hold then.  Run as root,
file access is guarded by the audit hook alone and ``RLIMIT_NPROC`` is not enforced.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SAFE_PATH = "/usr/bin:/bin"
SAMPLE_FILENAME = "sample.py"
_BLOCKED_MARKER = "[sandbox] blocked:"
_PROBE_TIMEOUT_S = 10.0
_KILL_WAIT_S = 2.0


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

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None


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

    ``sys_path`` entries are appended to the child's own path (default: this
    interpreter's, so installed packages resolve); at most the last ``output_limit``
    characters of stdout and stderr are kept.
    """
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="aigen-sandbox-")
    try:
        sample_path = os.path.join(workdir, SAMPLE_FILENAME)
        Path(sample_path).write_text(code, encoding="utf-8")
        config = {
            "root": workdir,
            "sample": sample_path,
            "sys_path": _inherited_sys_path() if sys_path is None else list(sys_path),
            "deny_read": [home for home in [str(Path.home().resolve())] if home != "/"],
            "limits": {
                "RLIMIT_AS": memory_mb * 2**20,
                "RLIMIT_CPU": int(timeout) + 1,
                "RLIMIT_FSIZE": max_file_mb * 2**20,
                "RLIMIT_NOFILE": max_open_files,
                "RLIMIT_NPROC": max_processes,
                "RLIMIT_CORE": 0,
            },
        }
        argv = [*_namespace_prefix(), sys.executable, "-I", __file__, json.dumps(config)]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            returncode, timed_out, error = _wait_contained(argv, workdir, out, err, timeout)
            stdout = _read_tail(out, output_limit)
            stderr = _read_tail(err, output_limit)
    finally:
        _remove_tree(workdir)
    blocked = _parse_blocked(stderr)
    return SandboxResult(
        returncode, stdout, stderr, timed_out, error, blocked, time.monotonic() - started
    )


def active_layers() -> tuple[str, ...]:
    """Names of the containment layers in effect on this machine (see module doc)."""
    layers = ["process-group", "rlimits", "clean-env", "audit-hook"]
    if _namespace_prefix():
        layers.insert(0, "namespaces")
    return tuple(layers)


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


def _wait_contained(
    argv: list[str], workdir: str, out: IO[bytes], err: IO[bytes], timeout: float
) -> tuple[int | None, bool, str | None]:
    """Start the child in its own session; kill its whole group when done or late."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=minimal_environment(workdir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
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


def _parse_blocked(stderr: str) -> tuple[str, ...]:
    found: set[str] = set()
    for line in stderr.splitlines():
        if line.startswith(_BLOCKED_MARKER):
            found.update(part.strip() for part in line[len(_BLOCKED_MARKER) :].split(","))
    return tuple(sorted(found - {""}))


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


@functools.lru_cache(maxsize=1)
def _namespace_prefix() -> tuple[str, ...]:
    """The first ``unshare`` invocation that runs Python here, or () if none does."""
    unshare = shutil.which("unshare", path=SAFE_PATH)
    if unshare is None:
        return ()
    isolate = ("--net", "--pid", "--fork", "--kill-child")
    candidates = [(unshare, "--user", "--map-current-user", *isolate), (unshare, "--map-root-user", *isolate)]
    if os.geteuid() == 0:
        candidates.insert(0, (unshare, *isolate))
    for prefix in candidates:
        try:
            probe = subprocess.run(
                [*prefix, "--", sys.executable, "-I", "-c", "pass"],
                env={"PATH": SAFE_PATH},
                capture_output=True,
                timeout=_PROBE_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return (*prefix, "--")
    return ()


# --------------------------------------------------------------------------------------
# Child side: this file is executed as the child's script (stdlib imports only above).

_PROCESS_EVENTS = frozenset(
    {
        "os.system",
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "subprocess.Popen",
        "pty.spawn",
    }
)
# File-system changes not already seen as an ``open`` event (shutil.rmtree: its unlinks
# are relative to directory descriptors).
_PATH_CHANGE_EVENTS = frozenset(
    {
        "os.chmod",
        "os.chown",
        "os.chflags",
        "os.link",
        "os.mkdir",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.symlink",
        "os.truncate",
        "os.utime",
        "shutil.rmtree",
    }
)
_LISTING_EVENTS = frozenset({"os.listdir", "os.scandir"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"})


class SandboxViolation(PermissionError):
    """Raised inside the child when the sample does something the sandbox forbids."""


class _Policy:
    """Decides, per audit event, whether the sample may proceed."""

    def __init__(self, root: str, allow_read: list[str], deny_read: list[str]) -> None:
        self.root = os.path.realpath(root)
        self.deny_read = [os.path.realpath(path) for path in deny_read]
        self.allow_read = [self.root] + [
            real
            for real in map(os.path.realpath, allow_read)
            if not any(_is_within(denied, real) for denied in self.deny_read)
        ]
        self.blocked: list[str] = []

    def hook(self, event: str, args: tuple) -> None:
        reason = self._violation(event, args)
        if reason is not None:
            self.blocked.append(event)
            raise SandboxViolation(f"sandbox blocked {event}: {reason}")

    def _violation(self, event: str, args: tuple) -> str | None:
        if event == "open":
            return self._open_violation(args[0], args[2] if len(args) > 2 else 0)
        if event.startswith("socket."):
            return "no network access"
        if event in _PROCESS_EVENTS:
            return "no processes or signals"
        if event == "ctypes.dlopen":  # numpy and torch load libraries on import
            return self._library_violation(args[0])
        if event.startswith("ctypes."):
            return "no ctypes symbol lookups, calls or memory access"
        if event in _PATH_CHANGE_EVENTS:
            paths = [_real(arg) for arg in args if isinstance(arg, (str, bytes))]
            return next(filter(None, map(self._write_violation, paths)), None)
        if event in _LISTING_EVENTS and isinstance(args[0], (str, bytes)):
            return self._read_violation(_real(args[0]))
        return None

    def _library_violation(self, name) -> str | None:
        if isinstance(name, (str, bytes)) and os.sep in os.fsdecode(name):
            if _is_within(_real(name), self.root):
                return "no native code from the sandbox directory"
        return None

    def _open_violation(self, path, flags: int) -> str | None:
        if not isinstance(path, (str, bytes)):
            return None  # an already-open file descriptor
        real = _real(path)
        if real in _HARMLESS_DEVICES:
            return None
        kind = _special_kind(real)
        if kind == "device":
            return "no device handles"
        if kind == "directory" and not _is_within(real, self.root):
            return "no directory handles outside the sandbox directory"  # dir_fd escapes
        if flags & _WRITE_FLAGS:
            return self._write_violation(real)
        return self._read_violation(real)

    def _write_violation(self, real: str) -> str | None:
        if _is_within(real, self.root):
            return None
        return f"{real} is outside the sandbox directory"

    def _read_violation(self, real: str) -> str | None:
        if any(_is_within(real, allowed) for allowed in self.allow_read):
            return None
        if any(_is_within(real, denied) for denied in self.deny_read):
            return f"{real} is in a private directory"
        try:
            world_readable = os.stat(real).st_mode & stat.S_IROTH
        except OSError:
            return None  # missing: the operation fails by itself
        return None if world_readable else f"{real} is not world-readable"

    def report(self) -> None:
        if self.blocked:
            line = f"\n{_BLOCKED_MARKER} {', '.join(sorted(set(self.blocked)))}\n"
            os.write(2, line.encode())


def _special_kind(real: str) -> str | None:
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return None


def _real(path) -> str:
    return os.path.realpath(os.fsdecode(path))


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _child_main(config: dict) -> None:
    """Bootstrap: limits, paths, audit hook, then run the sample as ``__main__``."""
    import resource
    import traceback
    import types

    for name, value in config["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    sys.path.extend(entry for entry in config["sys_path"] if entry not in sys.path)
    allow_read = [*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix]
    policy = _Policy(config["root"], allow_read, config["deny_read"])
    source = Path(config["sample"]).read_text(encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__file__ = config["sample"]
    sys.modules["__main__"] = main
    sys.argv = [config["sample"]]
    sys.addaudithook(policy.hook)
    try:
        exec(compile(source, config["sample"], "exec"), main.__dict__)
    except SystemExit:
        policy.report()
        raise
    except BaseException:
        traceback.print_exc()
        policy.report()
        sys.exit(1)
    policy.report()


if __name__ == "__main__":
    _child_main(json.loads(sys.argv[1]))
