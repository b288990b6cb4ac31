"""Escapes a drafted sample might try; each must fail, leave nothing behind and leak nothing."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from mkdocs_aigen.checks import code as code_module
from mkdocs_aigen.checks import verdicts
from mkdocs_aigen.checks.code import check_code
from mkdocs_aigen.checks.sample_error import public_error
from mkdocs_aigen.checks.sandbox import (
    Boundary,
    SampleFailure,
    active_layers,
    os_boundary,
    run_sandboxed,
)
from mkdocs_aigen.checks.verdicts import CodeChecker

pytestmark = pytest.mark.build

needs_boundary = pytest.mark.skipif(not os_boundary().available, reason=f"no OS boundary: {os_boundary().problem}")
# Switches the in-process audit hook off, as a deliberate sample can: what still holds is the OS boundary.
TAMPER = (
    "import gc\n"
    "for policy in [o for o in gc.get_objects() if type(o).__name__ == '_Policy']:\n"
    "    policy._violation = lambda event, args: None\n"
    "    print('TAMPERED', flush=True)\n"
)

PRINT_WORKDIR = "import os\nprint('WORKDIR=' + os.getcwd(), flush=True)\n"


def workdir_of(stdout: str) -> str:
    return next(line[len("WORKDIR=") :] for line in stdout.splitlines() if line.startswith("WORKDIR="))


def processes_inside(directory: str) -> list[int]:
    """Pids whose working directory is (or was) inside ``directory``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if cwd.startswith(directory):
                found.append(int(entry))
    return found


def assert_nothing_left(stdout: str) -> None:
    workdir = workdir_of(stdout)
    assert not os.path.exists(workdir)
    assert processes_inside(workdir) == []


def test_runs_code_and_cleans_up():
    result = run_sandboxed(PRINT_WORKDIR + "print(sum(range(10)))\n")
    assert result.ok, result.stderr
    assert result.stdout.splitlines()[-1] == "45"
    assert result.blocked == ()
    assert_nothing_left(result.stdout)


def test_environment_is_stripped_and_home_is_the_workdir(monkeypatch):
    monkeypatch.setenv("AIGEN_TEST_SECRET", "s3cr3t-token")
    result = run_sandboxed(PRINT_WORKDIR + "print(sorted(os.environ.items()))\nprint(os.path.expanduser('~'))\n")
    assert result.ok, result.stderr
    assert "s3cr3t-token" not in result.stdout
    env = dict(eval(result.stdout.splitlines()[1]))
    workdir = workdir_of(result.stdout)
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["HOME"] == workdir == result.stdout.splitlines()[2]
    assert set(env) <= {
        "PATH",
        "LANG",
        "HOME",
        "TMPDIR",
        "PYTHONNOUSERSITE",
        "PYTHONDONTWRITEBYTECODE",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    }


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.3)
    yield server
    server.close()


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(socket.timeout):
        server.accept()


def test_network_is_blocked(listener):
    port = listener.getsockname()[1]
    result = run_sandboxed(
        f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'leak')\n"
    )
    assert result.returncode != 0
    assert any(event.startswith("socket.") for event in result.blocked)
    assert_no_connection(listener)


@needs_boundary
def test_network_holds_when_the_audit_hook_is_tampered_with(listener):
    port = listener.getsockname()[1]
    result = run_sandboxed(
        TAMPER + "import socket\n"
        "for attempt in (lambda: socket.create_connection(('127.0.0.1', %d), timeout=1),\n"
        "                lambda: socket.getaddrinfo('example.com', 80)):\n"
        "    try:\n        attempt()\n        print('ESCAPED')\n    except OSError:\n        print('failed')\n" % port
    )
    assert result.ok, result.stderr
    assert result.stdout.split() == ["TAMPERED", "failed", "failed"]
    assert result.blocked == ()  # the hook really was disabled
    assert_no_connection(listener)


def test_writes_outside_the_workdir_are_blocked(tmp_path):
    target = tmp_path / "escaped.txt"
    attempts = {
        "open": f"open({str(target)!r}, 'w').write('x')",
        "os.open": f"os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)",
        "pathlib": f"pathlib.Path({str(target)!r}).write_text('x')",
        "copy": f"open('inside.txt', 'w').close(); shutil.copy('inside.txt', {str(target)!r})",
        "rename": f"open('inside2.txt', 'w').close(); os.rename('inside2.txt', {str(target)!r})",
        "symlink": f"os.symlink({str(target)!r}, 'link'); open('link', 'w').write('x')",
        "mkdir": f"os.mkdir({str(tmp_path / 'escaped_dir')!r})",
        "dir_fd": f"fd = os.open({str(tmp_path)!r}, os.O_RDONLY); os.open('escaped.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd)",
    }
    code = PRINT_WORKDIR + "import pathlib, shutil\n"
    for name, attempt in attempts.items():
        code += f"try:\n    {attempt}\n    print('ESCAPED {name}')\nexcept PermissionError:\n    print('blocked {name}')\n"
    code += "open('allowed.txt', 'w').write('fine')\nprint(open('allowed.txt').read())\n"
    result = run_sandboxed(code)
    assert result.ok, result.stderr
    assert "ESCAPED" not in result.stdout
    assert all(f"blocked {name}" in result.stdout for name in attempts)
    assert result.stdout.splitlines()[-1] == "fine"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert_nothing_left(result.stdout)


def test_read_only_directories_are_still_cleaned_up():
    result = run_sandboxed(
        PRINT_WORKDIR + "os.makedirs('a/b')\nopen('a/b/f', 'w').close()\nos.chmod('a/b', 0o500)\nos.chmod('a', 0o500)\n"
    )
    assert result.ok, result.stderr
    assert_nothing_left(result.stdout)


def test_the_real_home_and_private_files_are_unreadable():
    secret = Path.home() / f".aigen-sandbox-secret-{uuid.uuid4().hex}"
    secret.write_text("top-secret-value")
    try:
        result = run_sandboxed(
            "import os\n"
            f"for read in (lambda: open({str(secret)!r}).read(), lambda: os.listdir({str(Path.home())!r}),\n"
            f"             lambda: open('/proc/{os.getpid()}/environ').read()):\n"
            "    try:\n"
            "        print(read())\n"
            "    except OSError:\n"
            "        print('blocked')\n"
        )
    finally:
        secret.unlink()
    assert result.ok, result.stderr
    assert result.stdout.split() == ["blocked", "blocked", "blocked"]
    assert secret.name not in result.stdout + result.stderr
    assert "PYTEST_CURRENT_TEST" not in result.stdout


def test_process_creation_is_blocked():
    result = run_sandboxed(
        "import os, subprocess\n"
        "for attempt in (lambda: os.system('true'), lambda: subprocess.run(['true']), lambda: os.kill(os.getpid(), 0)):\n"
        "    try:\n"
        "        attempt()\n"
        "        print('ESCAPED')\n"
        "    except PermissionError:\n"
        "        print('blocked')\n"
    )
    assert result.ok, result.stderr
    assert result.stdout.split() == ["blocked"] * 3
    assert {"os.system", "subprocess.Popen", "os.kill"} <= set(result.blocked)


def test_fork_bomb_ends_quickly():
    # First a bounded probe, so the real bomb below only runs if fork is contained.
    probe = run_sandboxed("import os\nif os.fork() == 0:\n    os._exit(0)\nprint('FORKED')\n", timeout=3)
    assert "FORKED" not in probe.stdout
    assert probe.blocked == ("os.fork",)

    started = time.monotonic()
    result = run_sandboxed(PRINT_WORKDIR + "while True:\n    os.fork()\n", timeout=3)
    assert time.monotonic() - started < 2.5
    assert not result.timed_out
    assert result.returncode != 0
    assert result.blocked == ("os.fork",)
    assert_nothing_left(result.stdout)


def test_infinite_loop_is_killed_at_the_timeout():
    started = time.monotonic()
    result = run_sandboxed(PRINT_WORKDIR + "while True:\n    pass\n", timeout=1)
    assert time.monotonic() - started < 3
    assert result.timed_out
    assert result.returncode is None
    assert not result.ok
    assert_nothing_left(result.stdout)


def test_memory_hog_hits_the_address_space_limit():
    result = run_sandboxed("chunks = [bytearray(16 * 2**20) for _ in range(64)]\nprint('ALLOCATED')\n", memory_mb=256)
    assert not result.timed_out
    assert result.returncode != 0
    assert "ALLOCATED" not in result.stdout
    assert "MemoryError" in result.stderr


def test_huge_file_hits_the_file_size_limit():
    result = run_sandboxed(
        "with open('big.bin', 'wb') as f:\n    f.write(bytes(8 * 2**20))\nprint('WROTE')\n", max_file_mb=1
    )
    assert result.returncode != 0
    assert "WROTE" not in result.stdout


def test_native_calls_through_ctypes_are_blocked():
    result = run_sandboxed("import ctypes\nctypes.CDLL(None).fork()\nprint('FORKED')\n")
    assert result.returncode != 0
    assert "FORKED" not in result.stdout
    assert result.blocked == ("ctypes.dlsym",)


def test_output_is_truncated_to_its_tail():
    result = run_sandboxed("print('x' * 100_000)\nprint('END')\n", output_limit=1000)
    assert result.ok
    assert len(result.stdout) < 1100
    assert result.stdout.startswith("[... ")
    assert result.stdout.rstrip().endswith("END")


# ---------------------------------------------------------------- the OS boundary, hook tampered with


@pytest.fixture
def outside(tmp_path):
    """A folder outside the sandbox that the unprivileged user could write to without the boundary."""
    tmp_path.chmod(0o755)
    folder = tmp_path / "outside"
    (folder / "docs").mkdir(parents=True)
    folder.chmod(0o777)
    (folder / "docs").chmod(0o777)
    return folder


@pytest.fixture
def root_only_secret(tmp_path):
    """A root-owned 0600 file in a folder anyone may enter: only its own mode keeps it private."""
    tmp_path.chmod(0o755)
    secret = tmp_path / "root-only.txt"
    content = f"SECRET-{uuid.uuid4().hex}"
    secret.write_text(content + "\n")
    secret.chmod(0o600)
    assert secret.stat().st_uid == os.geteuid()
    return secret, content


def attempts(**named: str) -> str:
    """Sample code that tries each statement, prints ``ESCAPED name`` or ``contained name``."""
    code = TAMPER + "import os, pathlib, shutil, socket, sqlite3, subprocess\n"
    for name, statement in named.items():
        code += f"try:\n    {statement}\n    print('ESCAPED {name}')\nexcept Exception:\n    print('contained {name}')\n"
    return code + PRINT_WORKDIR


@needs_boundary
def test_writes_outside_fail_by_any_api_even_with_the_hook_disabled(outside):
    inside = "open('in.txt', 'w').write('x')"
    result = run_sandboxed(attempts(
        open=f"open({str(outside / 'open.txt')!r}, 'w').write('x')",
        sqlite=f"sqlite3.connect({str(outside / 'db.sqlite')!r}).execute('create table t (x)')",
        mkfifo=f"os.mkfifo({str(outside / 'fifo')!r})",
        mkfifo_docs=f"os.mkfifo({str(outside / 'docs' / 'evil.md')!r})",
        link=f"{inside}; os.link('in.txt', {str(outside / 'link.txt')!r})",
        rename=f"{inside}; os.rename('in.txt', {str(outside / 'renamed.txt')!r})",
        symlink=f"os.symlink('/etc/passwd', {str(outside / 'sym')!r})",
        mkdir=f"os.mkdir({str(outside / 'dir')!r})",
        shared_tmp=f"open('/tmp/aigen-escape-{uuid.uuid4().hex}', 'w')",
        dev_shm=f"open('/dev/shm/aigen-escape-{uuid.uuid4().hex}', 'w')",
        chmod=f"os.chmod({str(outside)!r}, 0o700)",
        inside=inside,
    ))
    assert result.ok, result.stderr
    assert "TAMPERED" in result.stdout
    assert "ESCAPED" not in result.stdout.replace("ESCAPED inside", "")
    assert "ESCAPED inside" in result.stdout  # the working directory stays writable
    assert sorted(p.name for p in outside.rglob("*")) == ["docs"]
    assert outside.stat().st_mode & 0o777 == 0o777
    assert not list(Path("/tmp").glob("aigen-escape-*")) and not list(Path("/dev/shm").glob("aigen-escape-*"))
    assert_nothing_left(result.stdout)


@needs_boundary
def test_root_only_files_stay_unreadable_and_never_reach_the_verdict(root_only_secret):
    secret, content = root_only_secret
    result = run_sandboxed(attempts(read=f"print(open({str(secret)!r}).read())",
                                    root_home="print(os.listdir('/root'))",
                                    shadow="print(open('/etc/shadow').read())"))
    assert result.ok, result.stderr
    assert "contained read" in result.stdout and "contained shadow" in result.stdout
    assert "ESCAPED read" not in result.stdout and "ESCAPED shadow" not in result.stdout
    assert content not in result.stdout + result.stderr
    for raise_it in ("raise SystemExit(data)", "raise ValueError(data)", "raise KeyError(data[:20])"):
        sample = TAMPER + f"data = open({str(secret)!r}).read()\n{raise_it}\n"
        verdict = check_code("python", sample, mode="run")
        assert verdict.status == "invalid"
        assert verdict.error.startswith("PermissionError"), verdict.error
        assert content not in verdict.error and "root-only" not in verdict.error


@needs_boundary
def test_the_shared_tmp_and_run_hold_no_sockets_to_reach():
    result = run_sandboxed("import os\nprint(os.listdir('/run'))\n")
    assert result.ok, result.stderr
    assert "sock" not in result.stdout


@needs_boundary
def test_processes_are_contained_with_the_hook_disabled(outside):
    marker = outside / "spawned"
    result = run_sandboxed(attempts(
        exec_shell=f"subprocess.run(['/bin/sh', '-c', 'echo x > {marker}'], check=True)",
        many="[subprocess.Popen(['/bin/sleep', '30']) for _ in range(40)]",
    ), timeout=5)
    assert "TAMPERED" in result.stdout
    assert "contained exec_shell" in result.stdout and "contained many" in result.stdout
    assert not marker.exists()
    assert_nothing_left(result.stdout)


@needs_boundary
def test_fork_bomb_with_the_hook_disabled_ends_at_the_timeout_and_leaves_nothing():
    started = time.monotonic()
    result = run_sandboxed(TAMPER + PRINT_WORKDIR + "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                           timeout=2)
    assert time.monotonic() - started < 5
    assert result.timed_out
    assert_nothing_left(result.stdout)


def test_the_system_user_database_never_becomes_the_error_text():
    first_line = Path("/etc/passwd").read_text().splitlines()[0]
    for sample, expected in (
        ("raise SystemExit(open('/etc/passwd').readline())\n", "SystemExit: exit status 1 (line 1)"),
        ("raise ValueError(open('/etc/passwd').readline())\n", None),
        (TAMPER + "raise RuntimeError(open('/etc/passwd').read())\n", None),
    ):
        verdict = check_code("python", sample, mode="run")
        assert verdict.status == "invalid"
        if expected:
            assert verdict.error == expected
        assert first_line.split(":")[0] + ":" not in verdict.error, verdict.error


def test_a_forged_report_publishes_nothing_the_sample_read():
    sample = TAMPER + (
        "import json, os\n"
        "user = open('/etc/passwd').readline().strip()\n"
        "forged = json.dumps({'blocked': [user], 'failure': {'type': user.split(':')[0], 'message': user, 'line': 1}})\n"
        "for fd in map(int, os.listdir('/proc/self/fd')):\n"
        "    try:\n        os.write(fd, forged.encode())\n    except OSError:\n        pass\n"
        "os._exit(3)\n"
    )
    verdict = check_code("python", sample, mode="run")
    assert verdict.status == "invalid"
    first_field = Path("/etc/passwd").read_text().split(":")[0]
    assert first_field not in verdict.error, verdict.error
    assert verdict.error in ("Exception: …:…:0:0:…:<path>:<path> (line 1)", "exit status 3")


@pytest.mark.parametrize(("failure", "source", "expected"), [
    (SampleFailure("NameError", "name 'totl' is not defined", 2), "total = 0\nprint(totl)\n",
     "NameError: name 'totl' is not defined (line 2)"),
    (SampleFailure("SystemExit", "root:x:0:0:root:/root:/bin/bash", 1, None), "x\n", "SystemExit: exit status 1 (line 1)"),
    (SampleFailure("SystemExit", "", None, 3), "x\n", "SystemExit: exit status 3"),
    (SampleFailure("ValueError", "root:x:0:0:root:/root:/bin/bash", 9), "pass\n", "ValueError: …:…:0:0:…:<path>:<path>"),
    (SampleFailure("FileNotFoundError", "[Errno 2] No such file or directory: '/home/alice/.ssh/id_rsa'"), "x\n",
     "FileNotFoundError: [Errno 2] No such file or directory: '<path>'"),
    (SampleFailure("hunter2", "\x1b[31mbad\x00", None), "pass\n", "Exception: [31…"),
    (SampleFailure("ConfigError", "bad " * 40, 1), "class ConfigError(Exception): pass\nraise ConfigError('bad')\n",
     "ConfigError: " + ("bad " * 20)[:79] + "… (line 1)"),
])
def test_public_error_keeps_what_is_public_and_drops_the_rest(failure, source, expected):
    assert public_error(failure, source) == expected


# ---------------------------------------------------------------- where there is no boundary


def test_the_boundary_is_probed_and_reported():
    if os.geteuid() == 0 and shutil.which("unshare", path="/usr/bin:/bin"):
        assert os_boundary().available, os_boundary().problem
    assert ("os-boundary" in active_layers()) == os_boundary().available


def test_run_without_a_boundary_falls_back_to_syntax_with_one_warning(monkeypatch, caplog, outside):
    missing = Boundary(problem="forced by the test")
    monkeypatch.setattr(code_module, "os_boundary", lambda: missing)
    monkeypatch.setattr(verdicts, "os_boundary", lambda: missing)
    marker = outside / "ran"
    with caplog.at_level(logging.WARNING):
        checker = CodeChecker("run", None)
        first = checker.check("python", f"open({str(marker)!r}, 'w')\n")
        second = checker.check("python", "raise SystemExit(1)\n")
    assert (checker.mode, first.status, second.status) == ("syntax", "ok", "ok")
    assert not marker.exists()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("aigen: verify_code: run refused")
    assert "forced by the test" in lines[0] and "\n" not in lines[0]
    assert check_code("python", f"open({str(marker)!r}, 'w')\n", mode="run").status == "ok"
    assert not marker.exists()
