"""``mkdocs-aigen approve``: accept a page's drafts (markers removed, feedback recorded)."""

from __future__ import annotations

import argparse

from mkdocs_aigen.cli.common import approved_by_hand, load_named_pages, run_on_site

NAME = "approve"
HELP = "approve drafted sections of a page"
EXAMPLE = """\
examples:
  mkdocs-aigen approve guides/caching.md              # every draft on the page
  mkdocs-aigen approve -f site/mkdocs.yml guides/caching.md --section Steps
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("page", metavar="PAGE", help="the page, relative to docs_dir or as a path")
    parser.add_argument("--section", action="append", default=[], metavar="S",
                        help="approve only this section (heading or slug); repeatable")


def run(args: argparse.Namespace) -> int:
    return run_on_site(args, _approve)


def _approve(project, store, args: argparse.Namespace) -> int:
    from mkdocs_aigen.authoring.loop import approve_page

    files, code = load_named_pages(project, args, [args.page])
    if code:
        return code
    result = approve_page(project, store, files[0], args.section)
    if result.approved_by_hand:
        print(f"{result.page}: {approved_by_hand(result.approved_by_hand)}")
    if result.approved:
        names = ", ".join(f"{h} (edited)" if edited else h for h, edited in result.approved)
        print(f"{result.page}: approved {names}; feedback in {store.work_dir.name}/feedback/")
    elif not result.approved_by_hand:
        print(f"{result.page}: no drafts awaiting review")
    return 0
