"""The ``mkdocs-aigen`` command line; each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from mkdocs_aigen.errors import AigenError

# name -> (module, one-line help)
SUBCOMMANDS = {
    "draft": ("mkdocs_aigen.cli.authoring", "write drafts of missing sections into stub pages"),
    "status": ("mkdocs_aigen.cli.authoring", "show the review queue"),
    "approve": ("mkdocs_aigen.cli.authoring", "approve drafted sections of a page"),
    "corpus": ("mkdocs_aigen.cli.training", "build the fine-tuning corpus from the site"),
    "train": ("mkdocs_aigen.cli.training", "fine-tune the model on the site's corpus"),
    "pretrain": ("mkdocs_aigen.cli.pretrain", "train a base model from scratch on offline text"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mkdocs-aigen", description="Draft, review and train documentation with a local model.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(module=module)
        _module(module).add_arguments(sub, name)
    return parser


def _module(name: str):
    """A subcommand's module: ``add_arguments(parser, command)`` and ``run(args) -> int``, no heavy imports."""
    return importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if not args.command:
        parser.print_help()
        return 0
    try:
        return int(_module(args.module).run(args) or 0)
    except AigenError as error:
        print(f"mkdocs-aigen {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
