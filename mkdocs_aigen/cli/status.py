"""``mkdocs-aigen status``: the review queue, as a table or as JSON (``--fail-on-unreviewed`` for CI)."""

from __future__ import annotations

import argparse
import json
import sys

from mkdocs_aigen.cli.common import approve_hint, load_named_pages, run_on_site

NAME = "status"
HELP = "show the review queue"
EXAMPLE = """\
examples:
  mkdocs-aigen status                                 # the queue of ./mkdocs.yml
  mkdocs-aigen status -f site/mkdocs.yml --json --fail-on-unreviewed
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the queue as JSON")
    parser.add_argument("--fail-on-unreviewed", action="store_true", help="exit 1 when any draft awaits review")


def run(args: argparse.Namespace) -> int:
    return run_on_site(args, _status)


def site_reviews(project, store, args: argparse.Namespace):
    """Every stub page's review (approvals by hand recorded first) and the exit code: 2 if a page is bad."""
    from mkdocs_aigen.authoring.loop import sync
    from mkdocs_aigen.authoring.status import page_review

    files, code = load_named_pages(project, args, [])
    reviews = []
    for file in files:
        for heading in sync(store, file.page):
            print(f"{file.page.src_path}: recorded approval of {heading!r} (markers removed by hand)", file=sys.stderr)
        reviews.append(page_review(project, store, file.page))
    store.save()
    return reviews, code


def _status(project, store, args: argparse.Namespace) -> int:
    from mkdocs_aigen.authoring.status import status_report

    reviews, code = site_reviews(project, store, args)
    report = status_report(reviews)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_table(reviews, report, args)
    if args.fail_on_unreviewed and report["awaiting_review"]:
        return max(code, 1)
    return code


def _print_table(reviews, report: dict, args: argparse.Namespace) -> None:
    from mkdocs_aigen.authoring.status import EDITED, STATES, STUB

    state_width = max(map(len, STATES))
    for review in reviews:
        print(f"{review.src_path} ({review.title})")
        width = max(len(s.heading) for s in review.sections) if review.sections else 0
        for row in review.sections:
            checks = ", ".join(f"{c.get('language') or 'code'} {c['status']}"
                               + (f" ({c['error']})" if c.get("error") else "") for c in row.code)
            print(f"  {row.heading:<{width}}  {row.state:<{state_width}}  {checks}".rstrip())
            for source in row.sources:
                print(f"    source: {source['source']} ({source['title']})")
            if row.facts:
                print("    facts: " + ", ".join(f"{n} {key.replace('_', ' ')}" for key, n in row.fact_counts().items()))
    totals = report["totals"]
    waiting, pages = report["awaiting_review"], sum(bool(r.awaiting) for r in reviews)
    line = f"{waiting} section(s) await review on {pages} page(s)"
    if totals.get(EDITED):
        line += f" ({totals[EDITED]} edited)"
    if totals.get(STUB):
        line += f"; {totals[STUB]} not drafted yet (mkdocs-aigen draft)"
    print(line + (f"; approve with '{approve_hint(args)}'" if waiting else ""))
