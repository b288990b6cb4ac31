"""The sandboxed child: confine itself, then run one sample (executed as a script; stdlib only).

Started as root inside fresh mount, network, PID, IPC and UTS namespaces (``unshare``), the
bootstrap builds the OS boundary before any sample code exists in the process:

* every mount is made private, then remounted read-only; ``/proc`` is a fresh one for the new PID
  namespace; ``/run`` (daemon sockets) is masked by an empty read-only tmpfs;
* the sample's working directory is a private, size-capped ``noexec`` tmpfs mounted over the
  parent's temporary directory -- the only writable place;
* a directory the unprivileged user cannot enter that holds ``sys.path`` entries (an interpreter
  under ``/root``) is covered by an empty tmpfs with only those entries bound back, so the
  interpreter and the documented package still import and the rest stays hidden;
* it drops to ``nobody`` (groups cleared, ``no_new_privs``, parent-death signal re-armed), so files
  that are not world-readable stay unreadable and ``RLIMIT_NPROC`` counts;
* then hard rlimits, the audit hook (an inner layer that turns attempts into ``blocked`` events) and
  the sample as ``__main__``.

What happened is reported as one JSON object on an inherited file descriptor; the parent treats it
as untrusted input (the sample runs in this process and can forge it).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import stat
import sys
from pathlib import Path

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 14, 1 << 18, 1 << 21, 1 << 24
_KEPT_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                     "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
MASKED_DIR = "/run"
BOUNDARY_FAILED = 125  # exit status when the boundary could not be built: nothing of the sample ran

_PROCESS_EVENTS = frozenset({"os.system", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
                             "os.kill", "os.killpg", "signal.pthread_kill", "subprocess.Popen", "pty.spawn"})
# File-system changes not already seen as an ``open`` event (shutil.rmtree: its unlinks are relative
# to directory descriptors).
_PATH_CHANGE_EVENTS = frozenset({"os.chmod", "os.chown", "os.chflags", "os.link", "os.mkdir", "os.remove",
                                 "os.rename", "os.rmdir", "os.symlink", "os.truncate", "os.utime",
                                 "shutil.rmtree"})
_LISTING_EVENTS = frozenset({"os.listdir", "os.scandir"})
_SOCKET_EVENTS = frozenset({"socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo",
                            "socket.gethostbyaddr", "socket.gethostbyname", "socket.gethostname",
                            "socket.getnameinfo", "socket.getservbyname", "socket.getservbyport",
                            "socket.sendmsg", "socket.sendto", "socket.sethostname"})
_CTYPES_EVENTS = frozenset({"ctypes.addressof", "ctypes.call_function", "ctypes.cdata", "ctypes.cdata/buffer",
                            "ctypes.create_string_buffer", "ctypes.create_unicode_buffer", "ctypes.dlsym",
                            "ctypes.dlsym/handle", "ctypes.get_errno", "ctypes.seh_exception",
                            "ctypes.set_errno", "ctypes.string_at", "ctypes.wstring_at"})
KNOWN_EVENTS = (_PROCESS_EVENTS | _PATH_CHANGE_EVENTS | _LISTING_EVENTS | _SOCKET_EVENTS | _CTYPES_EVENTS
                | {"open", "ctypes.dlopen"})
"""Every event the audit hook can block: the parent publishes no other name."""
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"})


class SandboxViolation(PermissionError):
    """Raised inside the child when the sample does something the sandbox forbids."""


class _Policy:
    """Decides, per audit event, whether the sample may proceed (the inner, in-process layer)."""

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
        return None if _is_within(real, self.root) else f"{real} is outside the sandbox directory"

    def _read_violation(self, real: str) -> str | None:
        if any(_is_within(real, allowed) for allowed in self.allow_read):
            return None
        if any(_is_within(real, denied) for denied in self.deny_read):
            return f"{real} is in a private directory"
        try:
            world_readable = os.stat(real).st_mode & stat.S_IROTH
        except OSError:
            return None  # missing or unreadable: the operation fails by itself
        return None if world_readable else f"{real} is not world-readable"


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


# ---------------------------------------------------------------- the OS boundary


def _confine(config: dict, source: str) -> None:
    """Build the boundary described in the module doc."""
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
        args = [None if value is None else os.fsencode(value) for value in (source, target, fstype, data)]
        if libc.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"mount {target}: {os.strerror(errno)}")

    root, user = config["root"], config["user"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("tmpfs", MASKED_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=755")
    _expose([*sys.path, *config["sys_path"]], mount)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
          f"size={config['workdir_mb']}m,nr_inodes=4096,mode=700,uid={user},gid={user}")
    Path(config["sample"]).write_text(source, encoding="utf-8")
    for target, flags in _mount_points():
        if target != root:
            mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
    writable = [target for target, flags in _mount_points() if target != root and not flags & MS_RDONLY]
    if writable:
        raise OSError(f"mounts still writable: {writable}")
    os.setgroups([])
    os.setresgid(user, user, user)
    os.setresuid(user, user, user)
    for option, value in ((PR_SET_NO_NEW_PRIVS, 1), (PR_SET_PDEATHSIG, 9)):  # credentials change cleared it
        if libc.prctl(option, value, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    os.chdir(root)


def _expose(entries: list[str], mount) -> None:
    """Keep path entries behind a private directory (an interpreter under ``/root``) importable.

    The private directory is covered by an empty tmpfs into which only those entries are bound
    back, at their own paths; everything else in it stays out of sight.
    """
    folders = {os.path.realpath(entry) for entry in entries if entry and os.path.isdir(entry)}
    outermost = [f for f in folders if not any(f != other and _is_within(f, other) for other in folders)]
    hidden: dict[Path, list[str]] = {}
    for folder in outermost:
        private = next((p for p in reversed(Path(folder).parents) if not p.stat().st_mode & stat.S_IXOTH), None)
        if private is not None:
            hidden.setdefault(private, []).append(folder)
    for private, folders_inside in hidden.items():
        staged = []
        for folder in folders_inside:
            staged.append(os.path.join(MASKED_DIR, f"aigen-path-{len(os.listdir(MASKED_DIR))}"))
            os.mkdir(staged[-1])
            mount(folder, staged[-1], None, MS_BIND | MS_REC)
        mount("tmpfs", str(private), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for folder, stage in zip(folders_inside, staged):
            os.makedirs(folder, mode=0o755)
            mount(stage, folder, None, MS_BIND | MS_REC)


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, kept flags) of the visible mounts (the topmost one per point), ``/proc/self/mountinfo``."""
    found: dict[str, int] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        target = os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda code: bytes([int(code[1], 8)]), fields[4].encode()))
        options = fields[5].split(",")
        flags = sum(_KEPT_MOUNT_FLAGS.get(option, 0) for option in options)
        found[target] = flags | (MS_RDONLY if "ro" in options else 0)
    return list(found.items())


# ---------------------------------------------------------------- bootstrap


def _report(fd: int, policy: _Policy, exc: BaseException | None, sample: str) -> None:
    """One JSON object on ``fd``: blocked events and the sample's exception (type, message, line)."""
    failure = None
    if exc is not None:
        try:
            message = str(exc)[:400]
        except Exception:  # a hostile __str__
            message = ""
        line = None
        frame = exc.__traceback__
        while frame is not None:
            if frame.tb_frame.f_code.co_filename == sample:
                line = frame.tb_lineno
            frame = frame.tb_next
        code = exc.code if isinstance(exc, SystemExit) else None
        failure = {"type": type(exc).__name__[:60], "message": message, "line": line,
                   "exit_code": code if isinstance(code, int) else None}
    document = json.dumps({"blocked": sorted(set(policy.blocked)), "failure": failure})
    os.write(fd, document.encode()[:8192])


def _child_main(config: dict) -> None:
    """Bootstrap: boundary, limits, audit hook, then run the sample as ``__main__``."""
    import resource
    import traceback
    import types

    source = Path(config["sample"]).read_text(encoding="utf-8")
    if config["confine"]:
        try:
            _confine(config, source)
        except OSError as exc:
            os.write(2, f"[sandbox] boundary not built: {exc}\n".encode())
            os._exit(BOUNDARY_FAILED)
    for name, value in config["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    sys.path.extend(entry for entry in config["sys_path"] if entry not in sys.path)
    policy = _Policy(config["root"], [*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix], config["deny_read"])
    main = types.ModuleType("__main__")
    main.__file__ = config["sample"]
    sys.modules["__main__"] = main
    sys.argv = [config["sample"]]
    if config["audit_hook"]:
        sys.addaudithook(policy.hook)
    failure = None
    try:
        exec(compile(source, config["sample"], "exec"), main.__dict__)
    except SystemExit as exc:
        failure = None if exc.code in (None, 0) else exc
        raise
    except BaseException as exc:
        failure = exc
        traceback.print_exc()
        sys.exit(1)
    finally:
        sys.stdout.flush()
        _report(config["report_fd"], policy, failure, config["sample"])


if __name__ == "__main__":
    _child_main(json.loads(sys.argv[1]))
