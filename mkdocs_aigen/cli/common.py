"""Helpers shared by the subcommands: MkDocs' log routing, and opening and listing pages for
``draft``, ``status`` and ``approve``. Heavy modules are imported inside the functions."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def mkdocs_log_to(handler: logging.Handler, level: int | None = None) -> Iterator[None]:
    """Send the ``mkdocs`` logger (``mkdocs.plugins.aigen`` included) only to ``handler`` for a while."""
    logger = logging.getLogger("mkdocs")
    saved = logger.handlers, logger.propagate, logger.level
    logger.handlers, logger.propagate = [handler], False
    if level is not None:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.handlers, logger.propagate = saved[:2]
        logger.setLevel(saved[2])


def run_on_site(args: argparse.Namespace, command: Callable[..., int]) -> int:
    """``command(project, store, args)`` on the site of ``-f``; a page saved meanwhile exits 1."""
    from mkdocs_aigen.authoring.store import ReviewStore, SourceChangedError
    from mkdocs_aigen.cli.config_file import settings_for
    from mkdocs_aigen.project import Project

    settings = settings_for(args)
    try:
        return command(Project(settings), ReviewStore(settings.work_dir), args)
    except SourceChangedError as error:
        print(f"mkdocs-aigen {args.command}: {error}", file=sys.stderr)
        return 1


def load_named_pages(project, args: argparse.Namespace, names: list[str]):
    """The stub pages named (every one when ``names`` is empty) and the exit code: 2 if any is bad.

    Each bad page is reported on its own line; the good ones are still returned."""
    from mkdocs_aigen.authoring.loop import load_pages, resolve_page

    files, errors = load_pages(project, [resolve_page(project.settings.docs_dir, n) for n in names])
    for error in errors:
        print(f"mkdocs-aigen {args.command}: error: {error}", file=sys.stderr)
    return files, 2 if errors else 0


def headings(names: list[str]) -> str:
    return ", ".join(names)


def approved_by_hand(names: list[str]) -> str:
    """The note for drafts whose markers the author deleted (which counts as approval)."""
    return f"recorded approval of {headings(names)} (markers removed by hand)"


def approve_hint(args: argparse.Namespace) -> str:
    """The ``approve`` command line for this site, as the user would type it."""
    config = f" -f {args.config_file}" if args.config_file else ""
    return f"mkdocs-aigen approve{config} PAGE"
