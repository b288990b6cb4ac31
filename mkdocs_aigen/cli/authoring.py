"""``mkdocs-aigen draft | status | approve``: the authoring loop in the terminal (see :mod:`mkdocs_aigen.authoring`).

Exit codes: 0 done; 1 a page changed on disk meanwhile (not written), or ``status
--fail-on-unreviewed`` found drafts awaiting review; 2 bad input (config, front-matter, arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("-f", "--config-file", type=Path, default=Path("mkdocs.yml"), metavar="MKDOCS_YML",
                        help="the site's config (default: mkdocs.yml)")
    if command == "draft":
        parser.add_argument("pages", nargs="*", metavar="PAGE",
                            help="stub pages, relative to docs_dir or as paths (default: every stub page)")
        parser.add_argument("--regenerate", action="store_true",
                            help="also re-draft drafts you have not edited (after retraining, say)")
        parser.add_argument("--discard-edits", action="store_true",
                            help="also re-draft drafts you HAVE edited: your edits are lost")
    elif command == "status":
        parser.add_argument("--json", action="store_true", help="print the queue as JSON")
        parser.add_argument("--fail-on-unreviewed", action="store_true",
                            help="exit 1 when any draft awaits review")
    else:
        parser.add_argument("page", metavar="PAGE", help="the page, relative to docs_dir or as a path")
        parser.add_argument("--section", action="append", default=[], metavar="S",
                            help="approve only this section (heading or slug); repeatable")


def run(args: argparse.Namespace) -> int:
    from mkdocs_aigen.authoring.store import ReviewStore, SourceChangedError
    from mkdocs_aigen.project import Project
    from mkdocs_aigen.cli.config_file import load_settings

    settings = load_settings(args.config_file)
    project = Project(settings)
    store = ReviewStore(settings.work_dir)
    command = {"draft": _draft, "status": _status, "approve": _approve}[args.command]
    try:
        return command(project, store, args)
    except SourceChangedError as error:
        print(f"mkdocs-aigen {args.command}: {error}", file=sys.stderr)
        return 1


def _load(project, args, names: list[str]):
    from mkdocs_aigen.authoring.loop import load_pages, resolve_page

    files, errors = load_pages(project, [resolve_page(project.settings.docs_dir, n) for n in names])
    for error in errors:
        print(f"mkdocs-aigen {args.command}: error: {error}", file=sys.stderr)
    return files, 2 if errors else 0


def _draft(project, store, args) -> int:
    from mkdocs_aigen.authoring.loop import draft_pages

    files, code = _load(project, args, args.pages)
    written = 0
    for result in draft_pages(project, store, files, regenerate=args.regenerate, discard_edits=args.discard_edits):
        parts = []
        if result.approved_by_hand:
            parts.append(f"recorded approval of {_names(result.approved_by_hand)} (markers removed by hand)")
        if result.drafted:
            parts.append(f"drafted {_with_origin(result.drafted)}")
        if result.redrafted:
            parts.append(f"re-drafted {_with_origin(result.redrafted)}")
        if result.unchanged:
            parts.append(f"unchanged {_names(result.unchanged)}")
        if result.kept:
            parts.append(f"kept your edits in {_names(result.kept)} (--discard-edits replaces them)")
        written += len(result.drafted) + len(result.redrafted)
        print(f"{result.page}: {'; '.join(parts) or 'nothing to draft'}")
    if written:
        print(f"wrote {written} draft(s); review them in the sources, then run "
              f"'mkdocs-aigen approve -f {args.config_file} PAGE'")
    return code


def _status(project, store, args) -> int:
    from mkdocs_aigen.authoring.loop import sync
    from mkdocs_aigen.authoring.status import page_review, status_report

    files, code = _load(project, args, [])
    reviews = []
    for file in files:
        for heading in sync(store, file.page):
            print(f"{file.page.src_path}: recorded approval of {heading!r} (markers removed by hand)", file=sys.stderr)
        reviews.append(page_review(project, store, file.page))
    store.save()
    report = status_report(reviews)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_status(reviews, report)
    if args.fail_on_unreviewed and report["awaiting_review"]:
        return max(code, 1)
    return code


def _print_status(reviews, report: dict) -> None:
    from mkdocs_aigen.authoring.status import EDITED, STATES, STUB

    state_width = max(map(len, STATES))
    for review in reviews:
        print(f"{review.src_path} ({review.title})")
        width = max(len(s.heading) for s in review.sections) if review.sections else 0
        for row in review.sections:
            checks = ", ".join(f"{c.get('language') or 'code'} {c['status']}"
                               + (f" ({c['error']})" if c.get("error") else "") for c in row.code)
            print(f"  {row.heading:<{width}}  {row.state:<{state_width}}  {checks}".rstrip())
    totals = report["totals"]
    waiting, pages = report["awaiting_review"], sum(bool(r.awaiting) for r in reviews)
    line = f"{waiting} section(s) await review on {pages} page(s)"
    if totals.get(EDITED):
        line += f" ({totals[EDITED]} edited)"
    if totals.get(STUB):
        line += f"; {totals[STUB]} not drafted yet (mkdocs-aigen draft)"
    print(line + ("; approve with 'mkdocs-aigen approve PAGE'" if waiting else ""))


def _approve(project, store, args) -> int:
    from mkdocs_aigen.authoring.loop import approve_page

    files, code = _load(project, args, [args.page])
    if code:
        return code
    result = approve_page(project, store, files[0], args.section)
    if result.approved_by_hand:
        print(f"{result.page}: recorded approval of {_names(result.approved_by_hand)} (markers removed by hand)")
    if result.approved:
        names = ", ".join(f"{h} (edited)" if edited else h for h, edited in result.approved)
        print(f"{result.page}: approved {names}; feedback in {store.work_dir.name}/feedback/")
    elif not result.approved_by_hand:
        print(f"{result.page}: no drafts awaiting review")
    return 0


def _names(headings: list[str]) -> str:
    return ", ".join(headings)


def _with_origin(items: list[tuple[str, str]]) -> str:
    return ", ".join(f"{heading} ({'from cache' if origin == 'cache' else origin})" for heading, origin in items)

