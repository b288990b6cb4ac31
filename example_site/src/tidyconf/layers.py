"""`Layer`, one source of raw configuration values, and the file and dictionary layers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from tidyconf.cache import cached_parse
from tidyconf.errors import SourceNotFoundError
from tidyconf.formats import format_for, parse


@dataclass(frozen=True)
class Layer:
    """An immutable, named mapping of raw configuration values.

    Instances compare equal when all three attributes are equal. Nothing is validated
    when a layer is made; validation happens once, after merging.

    Args:
        name: Label used in error messages and by `Merged.origin()`, such as
            ``"config.toml"`` or ``"env"``.
        data: The nested mapping of keys to values the layer contributes; it is copied
            into read-only mappings (and lists into tuples).
        source: Where the data came from (an absolute path for file layers,
            ``"environment"`` for environment layers), or `None`.

    Raises:
        TypeError: If `data` is not a mapping.

    Examples:
        >>> import tidyconf
        >>> layer = tidyconf.Layer("defaults", {"server": {"port": 8000}})
        >>> layer.data["server"]["port"], layer.source
        (8000, None)
    """

    name: str
    data: Mapping[str, Any]
    source: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.data, Mapping):
            raise TypeError(f"layer {self.name!r}: data must be a mapping, not {type(self.data).__name__}")
        object.__setattr__(self, "data", freeze(self.data))


def freeze(value: Any) -> Any:
    """Copy `value` with every mapping made read-only and every list made a tuple.

    Args:
        value: Raw configuration data.

    Returns:
        The read-only copy; scalars are returned as they are.

    Examples:
        >>> from tidyconf.layers import freeze
        >>> freeze({"hosts": ["a", "b"]})["hosts"]
        ('a', 'b')
    """
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """Copy `value` into plain, mutable dictionaries and lists (the reverse of `freeze`).

    Args:
        value: Raw configuration data, frozen or not.

    Returns:
        A deep copy made of `dict` and `list`.

    Examples:
        >>> from tidyconf.layers import freeze, thaw
        >>> thaw(freeze({"hosts": ["a"]}))
        {'hosts': ['a']}
    """
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(item) for item in value]
    return value


def dict_layer(data: Mapping[str, Any], *, name: str = "defaults") -> Layer:
    """Wrap a mapping built in code, such as parsed command-line options.

    The mapping is deep-copied, so later changes to `data` do not affect the layer. A
    `None` in it is a real value and overrides lower layers.

    Args:
        data: Nested mapping of raw values.
        name: The layer's name in errors and provenance.

    Returns:
        A layer whose `source` is `None`.

    Raises:
        TypeError: If `data` is not a mapping.

    Examples:
        >>> import tidyconf
        >>> cli = tidyconf.dict_layer({"server": {"port": 9000}}, name="command line")
        >>> cli.name, cli.source
        ('command line', None)
    """
    return Layer(name, data, None)


def file_layer(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    required: bool = True,
    format: Literal["toml", "yaml", "json"] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Layer:
    """Parse a TOML, YAML or JSON configuration file into a layer.

    Parsed files are cached in memory, keyed by absolute path, modification time and
    size; with `cache_dir`, the parsed data is also stored on disk as JSON.

    Args:
        path: The file to read.
        name: The layer's name; defaults to `str(path)`, the path exactly as written.
        required: When `False`, a missing file gives an empty layer instead of an error.
        format: ``"toml"``, ``"yaml"`` or ``"json"``; inferred from the extension when
            omitted.
        cache_dir: Directory for the on-disk parse cache.

    Returns:
        A layer whose `source` is the file's absolute path.

    Raises:
        SourceNotFoundError: If the file does not exist and `required` is true.
        ParseError: If the file is not valid in its format.
        ValueError: If `format` is omitted and the extension is not recognised.

    Examples:
        >>> import tempfile, pathlib
        >>> import tidyconf
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "config.toml"
        >>> _ = file.write_text("[server]\\nport = 8080\\n")
        >>> layer = tidyconf.file_layer(file)
        >>> layer.data["server"]["port"]
        8080
        >>> tidyconf.file_layer(file.parent / "local.toml", required=False).data
        mappingproxy({})
    """
    label = str(path) if name is None else name
    chosen = format_for(path, format)
    file = Path(path)
    absolute = str(file.resolve())
    if not file.is_file():
        if required:
            raise SourceNotFoundError(str(path))
        return Layer(label, {}, absolute)
    data = cached_parse(file, chosen, lambda text: parse(text, chosen, str(path)), cache_dir)
    return Layer(label, data, absolute)
