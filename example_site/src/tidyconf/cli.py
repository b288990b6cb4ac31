"""The ``tidyconf`` command: ``check``, ``show`` and ``explain``.

Exit status: 0 success, 1 validation failed, 2 usage error, missing file, parse error,
merge error or a schema that cannot be imported (printed as one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import typing
from typing import Any

from tidyconf.env import env_layer, variable_name
from tidyconf.errors import TidyconfError, ValidationError
from tidyconf.layers import Layer, file_layer, thaw
from tidyconf.merging import LIST_STRATEGIES, Merged, merge
from tidyconf.serialize import render, to_plain
from tidyconf.validation import validate


class UsageError(Exception):
    """A command line that cannot run: exit status 2."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``tidyconf`` command line.

    Args:
        argv: The arguments after the program name; defaults to `sys.argv[1:]`.

    Returns:
        The exit status: 0 success, 1 validation failed, 2 any other problem.

    Examples:
        >>> import tempfile, pathlib
        >>> from tidyconf.cli import main
        >>> config = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> _ = config.write_text("[server]\\nport = 8080\\n")
        >>> main(["show", str(config)])
        [server]
        port = 8080
        0
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (TidyconfError, UsageError, ValueError, ModuleNotFoundError) as exc:
        print(f"tidyconf: error: {str(exc).replace(chr(10) + '  ', ' ')}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    from tidyconf import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--schema", default=os.environ.get("TIDYCONF_SCHEMA"), metavar="MODULE:CLASS",
                        help="import path of the schema dataclass (default: $TIDYCONF_SCHEMA)")
    common.add_argument("--env-prefix", metavar="PREFIX", help="add an environment layer for PREFIX_* variables")
    common.add_argument("--lists", choices=LIST_STRATEGIES, default="replace", help="list merge strategy")
    common.add_argument("--optional", action="append", default=[], metavar="PATH",
                        help="a file merged like a source that may be missing (repeatable)")
    parser = argparse.ArgumentParser(prog="tidyconf", description="Check, show and explain layered configuration.")
    parser.add_argument("--version", action="version", version=f"tidyconf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", parents=[common], help="validate configuration and report every problem")
    check.add_argument("sources", nargs="+", metavar="SOURCE")
    check.add_argument("--no-strict", action="store_true", help="ignore unknown keys")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--quiet", "-q", action="store_true", help="print nothing; only set the exit status")
    check.set_defaults(run=_check)

    show = commands.add_parser("show", parents=[common], help="print the merged configuration")
    show.add_argument("sources", nargs="+", metavar="SOURCE")
    show.add_argument("--format", choices=("toml", "json", "yaml"), default="toml")
    show.add_argument("--origins", action="store_true", help="annotate every value with the layer that supplied it")
    show.add_argument("--reveal-secrets", action="store_true", help="print Secret fields in clear text")
    show.set_defaults(run=_show)

    explain = commands.add_parser("explain", parents=[common], help="show one key's value in every layer")
    explain.add_argument("key", metavar="KEY")
    explain.add_argument("sources", nargs="+", metavar="SOURCE")
    explain.set_defaults(run=_explain)
    return parser


def _layers(args: argparse.Namespace) -> list[Layer]:
    layers = [file_layer(source) for source in args.sources]
    layers += [file_layer(path, required=False) for path in args.optional]
    if args.env_prefix:
        layers.append(env_layer(args.env_prefix))
    return layers


def _schema(spec: str | None) -> type | None:
    if spec is None:
        return None
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"--schema must look like MODULE:CLASS, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        schema = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"cannot import schema {spec!r}: {exc}") from None
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise UsageError(f"schema {spec!r} is not a dataclass")
    return schema


def _check(args: argparse.Namespace) -> int:
    schema = _schema(args.schema)
    if schema is None:
        raise UsageError("check needs --schema MODULE:CLASS (or $TIDYCONF_SCHEMA)")
    label = " + ".join(args.sources)
    try:
        validate(merge(*_layers(args), lists=args.lists), schema, strict=not args.no_strict)
    except ValidationError as exc:
        if not args.quiet:
            errors = [{"path": e.path, "message": e.message, "value": to_plain(e.value), "origin": e.origin}
                      for e in exc.errors]
            print(json.dumps(errors, indent=2, default=repr) if args.format == "json" else f"{label}: {exc}")
        return 1
    if not args.quiet:
        print("[]" if args.format == "json" else f"{label}: valid {schema.__name__}")
    return 0


def _show(args: argparse.Namespace) -> int:
    schema = _schema(args.schema)
    merged = merge(*_layers(args), lists=args.lists)
    config: Any = merged
    if schema is not None:
        try:
            config = validate(merged, schema)
        except ValidationError as exc:
            print(f"{' + '.join(args.sources)}: {exc}")
            return 1
    comment = (lambda path: _origin(merged, path, schema is not None)) if args.origins else None
    sys.stdout.write(render(to_plain(config, args.reveal_secrets), args.format, comment))
    return 0


def _origin(merged: Merged, path: tuple[str, ...], with_defaults: bool) -> str | None:
    try:
        return merged.origin(".".join(path))
    except KeyError:
        return "default" if with_defaults else None


def _explain(args: argparse.Namespace) -> int:
    layers = _layers(args)
    merged = merge(*layers, lists=args.lists)
    values = [_lookup(layer.data, args.key) for layer in layers]
    winner = max((index for index, value in enumerate(values) if value is not _UNSET), default=None)
    width = max(len(layer.name) for layer in layers) + 3
    lines = [args.key]
    for index, (layer, value) in enumerate(zip(layers, values)):
        shown = "(not set)" if value is _UNSET else repr(thaw(value))
        if index == winner:
            variable = f" ({variable_name(args.key, args.env_prefix)})" if layer.source == "environment" and args.env_prefix else ""
            shown += f"   <- wins{variable}"
        lines.append(f"  {layer.name:<{width}}{shown}")
    if winner is None:
        lines.append("  no layer sets it")
    schema = _schema(args.schema)
    if schema is not None:
        lines += _schema_lines(merged, schema, args.key, width)
    print("\n".join(lines))
    return 0


_UNSET = object()


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if isinstance(data, typing.Mapping) and part in data:
            data = data[part]
        elif isinstance(data, tuple) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _UNSET
    return data


def _schema_lines(merged: Merged, schema: type, key: str, width: int) -> list[str]:
    lines = []
    field = _field_at(schema, key.split("."))
    if field is not None and field.default is not dataclasses.MISSING:
        lines.append(f"  {'default':<{width}}{field.default!r}")
    elif field is not None and field.default_factory is not dataclasses.MISSING:
        lines.append(f"  {'default':<{width}}{field.default_factory()!r}")
    try:
        value: Any = validate(merged, schema, strict=False)
        for part in key.split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        lines.append(f"  {'converted':<{width}}{value!r}")
    except ValidationError as exc:
        problems = [error.message for error in exc.errors if error.path == key] or ["the configuration is invalid"]
        lines.append(f"  {'converted':<{width}}invalid: {problems[0]}")
    except (AttributeError, KeyError):
        lines.append(f"  {'converted':<{width}}not a field of {schema.__name__}")
    return lines


def _field_at(schema: Any, parts: list[str]) -> dataclasses.Field | None:
    for depth, part in enumerate(parts):
        if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
            return None
        fields = {field.name: field for field in dataclasses.fields(schema)}
        if part not in fields:
            return None
        if depth == len(parts) - 1:
            return fields[part]
        schema = typing.get_type_hints(schema)[part]
    return None
