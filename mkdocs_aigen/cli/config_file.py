"""A site's settings read from its mkdocs.yml by MkDocs itself (``INHERIT``, ``!ENV``, plugin defaults).

``load_config`` only parses, validates and instantiates the plugins: no plugin event runs. What MkDocs
logs meanwhile is kept back; a bad config becomes one line naming the file (and the key).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
from pathlib import Path

from mkdocs import exceptions
from mkdocs.config import load_config

from mkdocs_aigen.cli.common import mkdocs_log_to
from mkdocs_aigen.config import AigenConfig
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.labels import theme_language
from mkdocs_aigen.safeio import remove_stale_temps
from mkdocs_aigen.settings import Settings

# "Config value 'plugins': Plugin 'aigen' option 'generate': Expected one of ..." (mkdocs.config.base)
_CONFIG_VALUE = re.compile(r"Config value '(?P<key>[^']*)': "
                           r"(?:Plugin '(?P<plugin>[^']*)' option '(?P<option>[^']*)': )?(?P<message>.*)", re.S)


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Settings of the ``aigen`` plugin in ``config_file`` (``None``: ./mkdocs.yml or ./mkdocs.yaml;
    ``-``: stdin), or its defaults when the site does not list it. Temp files that a killed command
    left in the site's ``.aigen`` and cache dirs are removed."""
    config, shown = _load_mkdocs_config(config_file)
    config_dir = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
    options = next((plugin.config for plugin in config.plugins.values() if isinstance(plugin.config, AigenConfig)),
                   None)
    language = theme_language(config.theme)
    if options is None:  # the site does not list the plugin: its defaults
        settings = Settings.load({}, config_dir, Path(config.docs_dir), source=shown, language=language,
                                 site_dir=config.site_dir)
    else:
        settings = Settings.from_options(options, config_dir, Path(config.docs_dir), source=shown,
                                         language=language, site_dir=config.site_dir)
    remove_stale_temps(settings.work_dir, settings.cache_dir)
    return settings


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings of the site of ``-f``, with the command line's ``--device`` over the config's."""
    settings = load_settings(args.config_file)
    if args.device == "auto":
        return settings
    settings = dataclasses.replace(settings, device=args.device)
    try:
        settings.backend_settings()  # e.g. quantize: int8 with --device cuda
    except ValueError as error:
        raise SettingsError(f"--device {args.device}: conflicts with plugins.aigen.{error}") from None
    return settings


class _Kept(logging.Handler):
    """Keeps log records instead of printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _load_mkdocs_config(config_file: str | Path | None):
    """The validated MkDocs config and the name to show for its file; errors as one ``SettingsError``."""
    if config_file == "-":
        source, shown = sys.stdin.buffer, "<stdin>"
    elif config_file is None:
        source, shown = None, "mkdocs.yml"
    else:
        source, shown = str(config_file), str(config_file)
        if not Path(source).exists():
            raise SettingsError(f"{shown}: no such file; pass the site's config with -f")
    kept = _Kept()
    try:
        with mkdocs_log_to(kept):
            config = load_config(source)
    except (exceptions.ConfigurationError, exceptions.Abort) as error:
        raise SettingsError(f"{shown}: {_one_line(error, kept.records)}") from None
    except OSError as error:
        raise SettingsError(f"{shown}: {error.strerror or error}") from None
    if config_file is None:
        shown = Path(config.config_file_path).name
    return config, shown


def _one_line(error: Exception, records: list[logging.LogRecord]) -> str:
    """MkDocs' first logged error (else warning, for ``strict``), else its exception, as one line."""
    messages = ([r.getMessage() for r in records if r.levelno >= logging.ERROR]
                or [r.getMessage() for r in records if r.levelno >= logging.WARNING] or [str(error)])
    message = messages[0]
    match = _CONFIG_VALUE.fullmatch(message)
    if match:
        key = ".".join(part for part in match.group("key", "plugin", "option") if part)
        message = f"{key}: {match['message']}"
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    return " ".join(message.split()) + more
