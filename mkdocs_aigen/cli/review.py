"""``mkdocs-aigen review``: the review queue as a Markdown page that any renderer can publish
(Zensical, ProperDocs, or MkDocs without the plugin)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mkdocs_aigen.cli.common import run_on_site
from mkdocs_aigen.cli.status import site_reviews

NAME = "review"
HELP = "write the review queue as a Markdown page"
EXAMPLE = """\
examples:
  mkdocs-aigen review --out docs/review.md            # publish it with any renderer
  mkdocs-aigen review -f site/mkdocs.yml --out site/docs/aigen/review.md
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="PATH.md",
                        help="the page to write (links to the pages are relative to it)")


def run(args: argparse.Namespace) -> int:
    return run_on_site(args, _review)


def _review(project, store, args: argparse.Namespace) -> int:
    from mkdocs_aigen.plugin.review_page import queue_markdown
    from mkdocs_aigen.safeio import atomic_write_text

    reviews, code = site_reviews(project, store, args)
    out = Path(args.out).resolve()
    page_path = Path(os.path.relpath(out, project.settings.docs_dir)).as_posix()
    atomic_write_text(out, queue_markdown(reviews, project.settings.labels, page_path))
    waiting = sum(len(r.awaiting) for r in reviews)
    print(f"{args.out}: {waiting} section(s) await review on {sum(bool(r.awaiting) for r in reviews)} page(s)")
    return code
