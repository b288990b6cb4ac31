"""Read a site's settings from mkdocs.yml without running MkDocs (for the CLI and any Markdown site)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from mkdocs_aigen.config import AigenConfig
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.settings import Settings


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads MkDocs' custom tags (``!ENV``, ``!!python/name:``) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if suffix == "ENV":
        return _env_tag(loader, node)
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


def _env_tag(loader: yaml.SafeLoader, node: yaml.Node):
    """``!ENV VAR`` / ``!ENV [VAR, ..., default]`` as MkDocs reads it (pyyaml_env_tag)."""
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    else:
        items = loader.construct_sequence(node)
        names, default = (items[:-1], items[-1]) if len(items) > 1 else (items, None)
    for name in names:
        if name in os.environ:
            return yaml.safe_load(os.environ[name])
    return default


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: _any_tag(loader, suffix, node))
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


def load_settings(config_file: Path, docs_dir: Path | None = None) -> Settings:
    """Settings of the ``aigen`` plugin in ``config_file`` (or defaults when it is not listed)."""
    config_file = Path(config_file)
    try:
        data = yaml.load(config_file.read_text(encoding="utf-8-sig"), Loader=_TolerantLoader) or {}
    except FileNotFoundError:
        raise SettingsError(f"{config_file}: no such file; pass the site's config with -f") from None
    except yaml.YAMLError as error:
        raise SettingsError(f"{config_file}: invalid YAML ({str(error).splitlines()[0]})") from None
    options = _plugin_options(data.get("plugins") or [], config_file)
    config = AigenConfig()
    config.load_dict(options)
    errors, _ = config.validate()
    if errors:
        key, error = errors[0]
        raise SettingsError(f"{config_file}: plugins.aigen.{key}: {error}")
    config_dir = config_file.resolve().parent
    docs = docs_dir or config_dir / str(data.get("docs_dir", "docs"))
    return Settings.from_options(config, config_dir, docs, source=str(config_file))


def _plugin_options(plugins, config_file: Path) -> dict:
    entries = plugins.items() if isinstance(plugins, dict) else (
        next(iter(p.items())) if isinstance(p, dict) else (p, {}) for p in plugins)
    for name, options in entries:
        if name == "aigen":
            if options is not None and not isinstance(options, dict):
                raise SettingsError(f"{config_file}: plugins.aigen: must be a mapping of options")
            return dict(options or {})
    return {}
