"""kill -9 at random points of real ``mkdocs build``, ``draft``, ``approve`` and ``train`` processes, and
concurrent ``draft`` processes: no corrupt file, no temp file after the next run, the author's bytes
intact, no review state lost."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from mini_site import AIGEN, BUILD, backdate, mini_site, run, start

pytestmark = pytest.mark.build

STUBS = 8  # concurrent drafts of 4 pages each overlap enough to lose half the state without the lock
APPROVED = 6  # pages approved in the approve tests: room for 4 kills when runs finish first
TRAIN = ("train", "-q", "--max-steps", "2", "--seq-len", "64", "--batch-tokens", "128", "--checkpoint-every", "1")


def docs_bytes(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((site / "docs").iterdir())}


def is_temp(path: Path, root: Path) -> bool:
    return any(part.startswith(".") and part.endswith(".tmp") for part in path.relative_to(root).parts)


def temps(site: Path) -> list[Path]:
    return [p for p in (site / ".aigen").rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]


def assert_no_corrupt_json(site: Path) -> None:
    """Every JSON and JSON-lines file outside temp files parses."""
    for path in (site / ".aigen").rglob("*.json*"):
        if is_temp(path, site) or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines() if path.suffix == ".jsonl" else [text]:
            json.loads(line)


def copy_of(states, name: str, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A copy of the fixture's site ``name`` to kill commands in, and its pages' bytes."""
    site = tmp_path / "site"
    shutil.copytree(states[0] / name, site)
    return site, docs_bytes(site)


def old_or_new(site: Path, before: dict[str, bytes], after: dict[str, bytes]):
    """The check after each kill: JSON intact, each page as it was or as the command writes it."""
    def check():
        assert_no_corrupt_json(site)
        now = docs_bytes(site)
        assert now.keys() == before.keys() and all(now[name] in (before[name], after[name]) for name in now)
    return check


def timed(args, cwd: Path) -> float:
    started = time.monotonic()
    result = run(args, cwd)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started


@pytest.fixture(scope="module")
def states(tmp_path_factory, tiny_model_dir):
    """Sites after a build (drafts cached), after ``draft`` and after approving every page,
    with each command's measured duration (kills: 6 build + 8 draft + 4 approve + 2 train)."""
    base = tmp_path_factory.mktemp("crash")
    mini_site(base / "built", tiny_model_dir, stubs=STUBS)
    timed(BUILD, base / "built")
    durations = {}
    shutil.copytree(base / "built", base / "drafted")
    durations["draft"] = timed((*AIGEN, "draft", "-q"), base / "drafted")
    shutil.copytree(base / "drafted", base / "approved")
    for i in range(APPROVED):
        durations["approve"] = timed((*AIGEN, "approve", "-q", f"stub-{i}.md"), base / "approved")
    shutil.copytree(base / "drafted", base / "trained")
    durations["train"] = timed((*AIGEN, *TRAIN), base / "trained")
    return base, durations


def kill_repeatedly(site: Path, command, duration: float, kills: int, seed: int, check) -> int:
    """Start ``command(site)`` again and again, SIGKILL it after a random share of its last measured
    duration, and call ``check()`` after each kill; returns how many runs were killed."""
    rng = random.Random(seed)
    killed = 0
    for _ in range(kills * 4):
        args = command(site)
        if killed == kills or args is None:
            break
        started = time.monotonic()
        with start(args, site) as process:  # closes its pipe on the way out
            try:
                process.wait(timeout=rng.uniform(0.05, 0.95) * duration)
                duration = time.monotonic() - started  # finished first: aim within this (warmer) run next time
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed += 1
        check()
    return killed


def finish(site: Path, args) -> None:
    """The next run, a while after the crashes: it completes and leaves no temp file."""
    backdate(site / ".aigen")
    result = run(args, site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert temps(site) == []
    assert_no_corrupt_json(site)


def test_kill_build(states, tmp_path):
    """Builds with the drafts cached (the model is not loaded: the 6 kills stay cheap; a cold build
    writes its cache entries with the same atomic writes that these tests kill)."""
    site, before = copy_of(states, "built", tmp_path)
    duration = timed(BUILD, site)
    assert kill_repeatedly(site, lambda _: BUILD, duration, 6, 1, old_or_new(site, before, before)) == 6
    finish(site, BUILD)
    assert docs_bytes(site) == before


def test_kill_draft(states, tmp_path):
    (base, durations), (site, before) = states, copy_of(states, "built", tmp_path)
    after = docs_bytes(base / "drafted")
    check = old_or_new(site, before, after)
    assert kill_repeatedly(site, lambda _: (*AIGEN, "draft", "-q"), durations["draft"], 8, 2, check) == 8
    finish(site, (*AIGEN, "draft", "-q"))
    assert docs_bytes(site) == after


def test_kill_approve(states, tmp_path):
    (base, durations), (site, before) = states, copy_of(states, "drafted", tmp_path)
    after = docs_bytes(base / "approved")

    def next_page(site: Path):
        pages = [f"stub-{i}.md" for i in range(APPROVED)]
        waiting = [page for page in pages if b"aigen:draft" in (site / "docs" / page).read_bytes()]
        return (*AIGEN, "approve", "-q", waiting[0]) if waiting else None

    assert kill_repeatedly(site, next_page, durations["approve"], 4, 3, old_or_new(site, before, after)) == 4
    while (args := next_page(site)) is not None:
        finish(site, args)
    assert docs_bytes(site) == after
    state = json.loads((site / ".aigen" / "review-state.json").read_text())
    assert state == json.loads((base / "approved" / ".aigen" / "review-state.json").read_text())


def test_kill_train(states, tmp_path):
    (_, durations), (site, before) = states, copy_of(states, "drafted", tmp_path)
    check = old_or_new(site, before, before)
    assert kill_repeatedly(site, lambda _: (*AIGEN, *TRAIN), durations["train"], 2, 4, check) == 2
    finish(site, (*AIGEN, *TRAIN))
    assert (site / ".aigen" / "model" / "config.json").is_file() and docs_bytes(site) == before


def test_concurrent_drafts_lose_no_review_state(states, tmp_path):
    base, _ = states
    expected = json.loads((base / "drafted" / ".aigen" / "review-state.json").read_text())
    assert sum(len(sections) for sections in expected["pages"].values()) == 3 * STUBS
    for attempt in range(3):
        site = tmp_path / f"site-{attempt}"
        shutil.copytree(base / "built", site)
        runs = [start((*AIGEN, "draft", "-q", *(f"stub-{i}.md" for i in range(first, STUBS, 2))), site)
                for first in (0, 1)]
        try:
            codes, errors = [process.wait() for process in runs], [process.stderr.read() for process in runs]
        finally:
            for process in runs:
                process.stderr.close()
        assert codes == [0, 0], errors
        assert json.loads((site / ".aigen" / "review-state.json").read_text()) == expected
        assert docs_bytes(site) == docs_bytes(base / "drafted")
