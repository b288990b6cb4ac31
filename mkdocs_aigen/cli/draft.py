"""``mkdocs-aigen draft``: write drafts of missing sections into the stub pages' own files."""

from __future__ import annotations

import argparse

from mkdocs_aigen.cli.common import (
    approve_hint,
    approved_by_hand,
    headings,
    load_named_pages,
    run_on_site,
)

NAME = "draft"
HELP = "write drafts of missing sections into stub pages"
EXAMPLE = """\
examples:
  mkdocs-aigen draft                                  # every stub page of ./mkdocs.yml
  mkdocs-aigen draft -f site/mkdocs.yml guides/caching.md --regenerate
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pages", nargs="*", metavar="PAGE",
                        help="stub pages, relative to docs_dir or as paths (default: every stub page)")
    parser.add_argument("--regenerate", action="store_true",
                        help="also re-draft drafts you have not edited (after retraining, say)")
    parser.add_argument("--discard-edits", action="store_true",
                        help="also re-draft drafts you HAVE edited: your edits are lost")


def run(args: argparse.Namespace) -> int:
    return run_on_site(args, _draft)


def _draft(project, store, args: argparse.Namespace) -> int:
    from mkdocs_aigen.authoring.loop import draft_pages

    files, code = load_named_pages(project, args, args.pages)
    written = 0
    for result in draft_pages(project, store, files, regenerate=args.regenerate, discard_edits=args.discard_edits):
        parts = []
        if result.approved_by_hand:
            parts.append(approved_by_hand(result.approved_by_hand))
        if result.drafted:
            parts.append(f"drafted {_with_origin(result.drafted)}")
        if result.redrafted:
            parts.append(f"re-drafted {_with_origin(result.redrafted)}")
        if result.unchanged:
            parts.append(f"unchanged {headings(result.unchanged)}")
        if result.kept:
            parts.append(f"kept your edits in {headings(result.kept)} (--discard-edits replaces them)")
        written += len(result.drafted) + len(result.redrafted)
        print(f"{result.page}: {'; '.join(parts) or 'nothing to draft'}")
    if written:
        print(f"wrote {written} draft(s); review them in the sources, then run '{approve_hint(args)}'")
    return code


def _with_origin(items: list[tuple[str, str]]) -> str:
    return ", ".join(f"{heading} ({'from cache' if origin == 'cache' else origin})" for heading, origin in items)
