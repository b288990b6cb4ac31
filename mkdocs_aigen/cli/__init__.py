"""The ``mkdocs-aigen`` command line: one module per subcommand, listed in :data:`COMMANDS`.

A subcommand module has ``NAME`` (str), ``HELP`` (one line), ``EXAMPLE`` (the help's epilog, with
real command lines), ``add_arguments(parser)`` (its own flags only; the shared ones — ``-f``,
``-v``/``-q``, ``--device``, ``--no-progress`` — come from :func:`shared_flags`) and
``run(args) -> int``. It imports torch, transformers and the project only inside ``run``.

Exit codes: 0 done; 1 a page changed on disk meanwhile (not written), or ``status
--fail-on-unreviewed`` found drafts awaiting review; 2 bad input (config, front-matter, arguments),
reported as ``mkdocs-aigen COMMAND: error: ONE LINE``; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import metadata
from pathlib import Path

import mkdocs_aigen
from mkdocs_aigen import progress
from mkdocs_aigen.cli import approve, corpus, draft, eval, pretrain, review, status, train
from mkdocs_aigen.cli.common import mkdocs_log_to
from mkdocs_aigen.errors import AigenError

COMMANDS = (draft, status, review, approve, corpus, train, pretrain, eval)
CONFIG_FILE_HELP = "Provide a specific MkDocs config. This can be a file name, or '-' to read from stdin."


def shared_flags() -> argparse.ArgumentParser:
    """The flags every subcommand takes (an argparse parent parser)."""
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("-f", "--config-file", metavar="FILENAME",
                        help=CONFIG_FILE_HELP + " (default: mkdocs.yml or mkdocs.yaml in the current directory)")
    verbosity = shared.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="Enable verbose output")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="Silence warnings")
    shared.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the model runs (default: auto, i.e. plugins.aigen.device, "
                             "else CUDA when present)")
    shared.add_argument("--no-progress", dest="progress", action="store_false", help="show no progress bars")
    return shared


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mkdocs-aigen",
                                     description="Draft, review and train documentation with a local model.")
    parser.add_argument("-V", "--version", action="version", version=_version_line(),
                        help="Show the version and exit.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    shared = shared_flags()
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, parents=[shared], help=command.HELP, description=command.HELP,
                                  epilog=command.EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _version_line() -> str:
    """``mkdocs-aigen, version X from DIR (Python X.Y)``, as ``mkdocs --version`` words it."""
    try:
        version = metadata.version("mkdocs-aigen")
    except metadata.PackageNotFoundError:
        version = mkdocs_aigen.__version__
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"%(prog)s, version {version} from {Path(mkdocs_aigen.__file__).parent} (Python {python})"


def _log_level(args: argparse.Namespace) -> int:
    return logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.INFO


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    progress.set_enabled(args.progress)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-8s-  %(message)s"))
    try:
        with mkdocs_log_to(handler, _log_level(args)):
            return int(args.run(args) or 0)
    except AigenError as error:
        print(f"mkdocs-aigen {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
