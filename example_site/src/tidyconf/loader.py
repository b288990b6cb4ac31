"""`load`: read, merge and validate in one call."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from tidyconf.env import env_layer
from tidyconf.layers import Layer, dict_layer, file_layer
from tidyconf.merging import merge
from tidyconf.validation import validate

T = TypeVar("T")


def load(
    *sources: str | os.PathLike | Layer | Mapping[str, Any],
    schema: type[T],
    env_prefix: str | None = None,
    lists: Literal["replace", "append", "unique"] = "replace",
    strict: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> T:
    """Read every source, merge them in order and validate the result against `schema`.

    This is the function most applications need.

    Args:
        sources: Layers from lowest to highest priority. A path becomes
            ``file_layer(path, cache_dir=cache_dir)``, a mapping becomes
            ``dict_layer(mapping)``, and a `Layer` is used as it is.
        schema: The dataclass to build. Keyword-only.
        env_prefix: When given, ``env_layer(env_prefix)`` is added after all other sources.
        lists: List merge strategy: ``"replace"``, ``"append"`` or ``"unique"``.
        strict: Reject keys that do not correspond to a field.
        cache_dir: Directory for the on-disk parse cache used by file sources given as paths.

    Returns:
        An instance of `schema`.

    Raises:
        SourceNotFoundError: If a file given as a path does not exist.
        ParseError: If a file is not valid TOML, YAML or JSON.
        MergeError: If two layers disagree about whether a key is a table.
        ValidationError: If the merged data does not fit `schema`.

    Examples:
        >>> from dataclasses import dataclass
        >>> import tidyconf
        >>> @dataclass(frozen=True)
        ... class Server:
        ...     host: str = "127.0.0.1"
        ...     port: int = 8000
        >>> tidyconf.load({"port": 8080}, schema=Server, env_prefix="DOCTEST_NO_SUCH_APP")
        Server(host='127.0.0.1', port=8080)
    """
    layers = [_as_layer(source, cache_dir) for source in sources]
    if env_prefix is not None:
        layers.append(env_layer(env_prefix))
    return validate(merge(*layers, lists=lists), schema, strict=strict)


def _as_layer(source: Any, cache_dir: str | os.PathLike | None) -> Layer:
    if isinstance(source, Layer):
        return source
    if isinstance(source, Mapping):
        return dict_layer(source)
    if isinstance(source, (str, os.PathLike)):
        return file_layer(source, cache_dir=cache_dir)
    raise TypeError(f"a source must be a path, a mapping or a Layer, not {type(source).__name__}")
