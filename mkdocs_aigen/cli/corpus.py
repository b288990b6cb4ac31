"""``mkdocs-aigen corpus``: build the site's fine-tuning corpus (``.aigen/corpus/``) and print its stats."""

from __future__ import annotations

import argparse

from mkdocs_aigen.ml.corpus import VALIDATION_FRACTION

NAME = "corpus"
HELP = "build the fine-tuning corpus from the site"
EXAMPLE = """\
examples:
  mkdocs-aigen corpus                                 # from ./mkdocs.yml into .aigen/corpus/
  mkdocs-aigen corpus -f site/mkdocs.yml --validation-fraction 0.2
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus flags (``train`` takes them too: it builds the corpus first)."""
    parser.add_argument("--validation-fraction", type=float, default=None,
                        help=f"share of documents held out for validation (default: the existing corpus', "
                             f"else {VALIDATION_FRACTION})")


def run(args: argparse.Namespace) -> int:
    from mkdocs_aigen.cli.config_file import settings_for
    from mkdocs_aigen.ml.corpus import format_stats
    from mkdocs_aigen.site_corpus import base_model_dir, build_site_corpus, corpus_dir

    settings = settings_for(args)
    stats = build_site_corpus(settings, tokenizer_dir=base_model_dir(settings),
                              validation_fraction=args.validation_fraction, context=context_provider(settings))
    print(format_stats(stats))
    print(f"wrote {corpus_dir(settings)} ({stats['digest'][:19]})")
    return 0


def context_provider(settings):
    """The project's grounding retriever (``Project.grounding.retriever``); None when grounding is off
    or failed, and the corpus is built ungrounded."""
    from mkdocs_aigen.project import Project

    grounding = Project(settings).grounding
    return grounding.retriever if grounding else None
