"""Escapes a drafted sample might try; each must fail and leave nothing behind."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from mkdocs_aigen.checks.sandbox import active_layers, run_sandboxed

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


@pytest.mark.skipif("namespaces" not in active_layers(), reason="unshare does not work here")
def test_network_namespace_holds_when_the_audit_hook_is_tampered_with(listener):
    port = listener.getsockname()[1]
    result = run_sandboxed(
        "import gc, socket\n"
        "policy = next(o for o in gc.get_objects() if type(o).__name__ == '_Policy')\n"
        "policy._violation = lambda event, args: None\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
    )
    assert result.returncode != 0
    assert result.blocked == ()  # the hook really was disabled ...
    assert "OSError" in result.stderr  # ... and the empty namespace still had no route
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
            "    except PermissionError:\n"
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
