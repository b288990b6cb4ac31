"""`env_layer`: configuration from environment variables named ``PREFIX_KEY__SUBKEY``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tidyconf.errors import MergeError
from tidyconf.layers import Layer


def env_layer(
    prefix: str,
    *,
    separator: str = "__",
    environ: Mapping[str, str] | None = None,
    name: str = "env",
    keep_empty: bool = False,
) -> Layer:
    """Build a layer from the environment variables named ``{prefix}_...``.

    Only variables whose name starts with `prefix` (matched case-sensitively) followed by
    one underscore count. The rest of each name is lowercased and split on `separator`
    into a key path. Values stay strings; validation converts them.

    Args:
        prefix: The variables' prefix, such as ``"SHOP"``.
        separator: What separates nesting levels in a name.
        environ: The variables to read; defaults to `os.environ`.
        name: The layer's name in errors and provenance.
        keep_empty: Keep variables whose value is empty instead of skipping them.

    Returns:
        A layer whose `source` is ``"environment"``.

    Raises:
        ValueError: If `prefix` or `separator` is empty.
        MergeError: If one variable sets a key that another uses as a table, as
            ``SHOP_DATABASE`` and ``SHOP_DATABASE__URL`` do.

    Examples:
        >>> import tidyconf
        >>> from tidyconf.layers import thaw
        >>> env = tidyconf.env_layer("SHOP", environ={
        ...     "SHOP_SERVER__PORT": "9000", "SHOP_LOG_LEVEL": "debug",
        ...     "SHOPPING_CART": "ignored", "SHOP_DEBUG": ""})
        >>> thaw(env.data)
        {'log_level': 'debug', 'server': {'port': '9000'}}
    """
    if not prefix or not separator:
        raise ValueError("env_layer() needs a non-empty prefix and separator")
    variables = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    for variable in sorted(variables):
        path = key_path(variable, prefix, separator)
        value = variables[variable]
        if path is None or (value == "" and not keep_empty):
            continue
        _set(data, path, value, name)
    return Layer(name, data, "environment")


def key_path(variable: str, prefix: str, separator: str = "__") -> list[str] | None:
    """The key path a variable sets, or `None` when it does not belong to `prefix`.

    Args:
        variable: An environment variable's name.
        prefix: The layer's prefix.
        separator: What separates nesting levels.

    Returns:
        The lowercased key path, e.g. ``["database", "pool_size"]``.

    Examples:
        >>> from tidyconf.env import key_path
        >>> key_path("SHOP_DATABASE__POOL_SIZE", "SHOP"), key_path("MYSHOP_X", "SHOP")
        (['database', 'pool_size'], None)
    """
    if not variable.startswith(prefix + "_"):
        return None
    parts = variable[len(prefix) + 1 :].lower().split(separator.lower())
    return None if "" in parts else parts


def variable_name(path: str, prefix: str, separator: str = "__") -> str:
    """The environment variable that sets a dotted key path.

    Args:
        path: A dotted key path such as ``"server.port"``.
        prefix: The layer's prefix.
        separator: What separates nesting levels.

    Returns:
        The variable's name, e.g. ``"SHOP_SERVER__PORT"``.

    Examples:
        >>> from tidyconf.env import variable_name
        >>> variable_name("server.port", "SHOP")
        'SHOP_SERVER__PORT'
    """
    return f"{prefix}_" + separator.join(path.split(".")).upper()


def _set(data: dict[str, Any], path: list[str], value: str, layer: str) -> None:
    table = data
    for depth, key in enumerate(path[:-1]):
        child = table.setdefault(key, {})
        if not isinstance(child, dict):
            raise MergeError(".".join(path[: depth + 1]), layer, layer, "a string cannot be replaced by a table")
        table = child
    if isinstance(table.get(path[-1]), dict):
        raise MergeError(".".join(path), layer, layer, "a table cannot be replaced by a string")
    table[path[-1]] = value
