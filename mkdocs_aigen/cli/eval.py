"""``mkdocs-aigen eval``: draft quality on the site, leave-one-page-out, grounded against ungrounded."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "eval"
HELP = "measure draft quality on the site's own pages (leave-one-page-out)"
EXAMPLE = """\
examples:
  mkdocs-aigen eval -f mkdocs.yml                     # table on stdout
  mkdocs-aigen eval -f mkdocs.yml --max-pages 6 --json eval.json --model path/to/model
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the measures as JSON to PATH")
    parser.add_argument("--max-pages", type=_positive(int), default=12, help="held-out pages at most (default: 12)")
    parser.add_argument("--max-minutes", type=_positive(float), default=4.5,
                        help="time budget; drafting is skipped for what does not fit (default: 4.5)")
    parser.add_argument("--model", metavar="DIR", type=Path,
                        help="model dir to evaluate (default: the one the site drafts with)")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from mkdocs_aigen.cli.config_file import settings_for
    from mkdocs_aigen.errors import AigenError
    from mkdocs_aigen.evaluation import evaluate, format_table
    from mkdocs_aigen.ml.checkpoint import is_model_dir
    from mkdocs_aigen.project import Project
    from mkdocs_aigen.safeio import atomic_write_text

    settings = settings_for(args)
    if args.model:
        if not is_model_dir(args.model):
            raise AigenError(f"--model: {args.model} holds no model (no config.json); point it at a model dir")
        settings = dataclasses.replace(settings, model=args.model.resolve())
    report = evaluate(Project(settings), max_pages=args.max_pages, max_minutes=args.max_minutes)
    print(format_table(report))
    if args.json:
        import json

        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
        return value
    return parse
