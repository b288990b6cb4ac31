"""Progress bars: shown on a terminal at INFO, silent otherwise (pipes, CI logs, ``mkdocs -q``, --no-progress)."""

from __future__ import annotations

import io
import logging

import pytest

from mkdocs_aigen import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_bar(monkeypatch, stream: io.StringIO) -> str:
    monkeypatch.setattr("sys.stderr", stream)
    with progress.progress_bar("prose", 3) as bar:
        bar(1, 40)
        bar(3, 120)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def info_level():
    logger = logging.getLogger("mkdocs")
    level = logger.level
    logger.setLevel(logging.INFO)
    progress.set_enabled(True)  # whatever an earlier test (a CLI run with --no-progress) left
    yield logger
    logger.setLevel(level)
    progress.set_enabled(True)


def test_bar_shows_on_a_terminal(monkeypatch):
    shown = run_bar(monkeypatch, Terminal())
    assert "aigen: prose" in shown and "3/3" in shown and "tok/s" in shown


def test_bar_is_silent_when_stderr_is_no_terminal(monkeypatch):
    assert run_bar(monkeypatch, io.StringIO()) == ""


def test_bar_is_silent_under_mkdocs_quiet(monkeypatch, info_level):
    info_level.setLevel(logging.ERROR)  # what `mkdocs build -q` sets
    assert run_bar(monkeypatch, Terminal()) == ""


def test_bar_is_silent_with_no_progress(monkeypatch):
    progress.set_enabled(False)
    assert run_bar(monkeypatch, Terminal()) == ""
