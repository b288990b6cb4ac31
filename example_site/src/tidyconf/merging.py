"""`merge`: layers combined in order, later wins, with the provenance of every value."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from tidyconf.errors import MergeError
from tidyconf.layers import Layer, freeze, thaw

LIST_STRATEGIES = ("replace", "append", "unique")
_KINDS = {str: "a string", bool: "a boolean", int: "an integer", float: "a float", list: "a list", type(None): "null"}


class Merged(Mapping[str, Any]):
    """The result of `merge()`: a read-only mapping that remembers where each value came from.

    It is not meant to be constructed directly.

    Args:
        data: The merged data.
        layers: The layers that were merged, in order.
        origins: The layer name behind every key path (a tuple of string keys).

    Examples:
        >>> import tidyconf
        >>> merged = tidyconf.merge(
        ...     tidyconf.dict_layer({"server": {"port": 8000, "host": "127.0.0.1"}}),
        ...     tidyconf.env_layer("APP", environ={"APP_SERVER__PORT": "9000"}),
        ... )
        >>> merged["server"]["port"], merged.origin("server.port"), merged.origin("server.host")
        ('9000', 'env', 'defaults')
    """

    def __init__(self, data: Mapping[str, Any], layers: tuple[Layer, ...], origins: Mapping[tuple[str, ...], str]) -> None:
        self._data = freeze(data)
        self._layers = tuple(layers)
        self._origins = dict(origins)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The tuple of layers that were merged, in order.

        Returns:
            The layers, lowest priority first.

        Examples:
            >>> import tidyconf
            >>> [layer.name for layer in tidyconf.merge(tidyconf.dict_layer({})).layers]
            ['defaults']
        """
        return self._layers

    def origin(self, path: str) -> str:
        """Name the layer that supplied the value at a dotted path.

        For a table, it is the last layer that set a key inside it; for a list merged
        with ``"append"`` or ``"unique"``, the last layer that contributed to it, while
        ``"plugins.2"`` names the layer the third item came from.

        Args:
            path: A dotted key path such as ``"database.url"``.

        Returns:
            The layer's name.

        Raises:
            KeyError: If no layer set that path (a value that will come from a schema
                default has no origin).

        Examples:
            >>> import tidyconf
            >>> merged = tidyconf.merge(tidyconf.dict_layer({"debug": True}, name="cli"))
            >>> merged.origin("debug")
            'cli'
        """
        key = tuple(path.split("."))
        if key not in self._origins:
            raise KeyError(path)
        return self._origins[key]

    def to_dict(self) -> dict[str, Any]:
        """Return a deep copy of the merged data as plain dictionaries and lists.

        Returns:
            A new `dict` the caller may change freely.

        Examples:
            >>> import tidyconf
            >>> tidyconf.merge(tidyconf.dict_layer({"hosts": ["a"]})).to_dict()
            {'hosts': ['a']}
        """
        return thaw(self._data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Merged({self.to_dict()!r})"


def merge(*layers: Layer, lists: Literal["replace", "append", "unique"] = "replace") -> Merged:
    """Merge layers from first (lowest priority) to last (highest priority).

    Later scalar values replace earlier ones, tables are merged key by key, and lists
    follow the `lists` strategy. Nothing is ever removed.

    Args:
        layers: The layers, lowest priority first. Only `Layer` objects are accepted.
        lists: ``"replace"`` (a later list replaces an earlier one), ``"append"``
            (concatenate) or ``"unique"`` (append, then drop later duplicates, keeping
            the first occurrence; items are compared with ``==``).

    Returns:
        The merged data with its provenance.

    Raises:
        MergeError: If two layers disagree about whether a key is a table.
        TypeError: If an argument is not a `Layer`.
        ValueError: If `lists` is not a known strategy.

    Examples:
        >>> import tidyconf
        >>> merged = tidyconf.merge(
        ...     tidyconf.dict_layer({"plugins": ["a", "b"]}, name="base"),
        ...     tidyconf.dict_layer({"plugins": ["b", "c"]}, name="extra"),
        ...     lists="unique",
        ... )
        >>> merged.to_dict(), merged.origin("plugins.2")
        ({'plugins': ['a', 'b', 'c']}, 'extra')
    """
    if lists not in LIST_STRATEGIES:
        raise ValueError(f"unknown list strategy {lists!r}; use one of {', '.join(LIST_STRATEGIES)}")
    data: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"merge() takes Layer objects, not {type(layer).__name__}; use load() for paths and mappings")
        _merge_table(data, layer.data, (), layer.name, lists, origins)
    return Merged(data, layers, origins)


def _merge_table(target: dict, upper: Mapping, path: tuple[str, ...], layer: str, lists: str, origins: dict) -> None:
    for key, value in upper.items():
        here = (*path, str(key))
        if key not in target:
            target[key] = thaw(value)
            _mark(origins, here, target[key], layer)
            continue
        lower = target[key]
        if isinstance(lower, dict) and isinstance(value, Mapping):
            origins[here] = layer
            _merge_table(lower, value, here, layer, lists, origins)
        elif isinstance(lower, dict) or isinstance(value, Mapping):
            detail = f"{_kind(lower)} cannot be replaced by {_kind(thaw(value))}"
            raise MergeError(".".join(here), origins[here], layer, detail)
        elif lists != "replace" and isinstance(lower, list) and isinstance(value, (list, tuple)):
            _combine_lists(target, key, here, thaw(value), layer, lists, origins)
        else:
            _forget(origins, here)
            target[key] = thaw(value)
            _mark(origins, here, target[key], layer)


def _combine_lists(target: dict, key: str, here: tuple, items: list, layer: str, lists: str, origins: dict) -> None:
    sourced = [(item, origins[(*here, str(index))]) for index, item in enumerate(target[key])]
    sourced += [(item, layer) for item in items]
    if lists == "unique":
        kept: list[tuple[Any, str]] = []
        for item, origin in sourced:
            if all(item != seen for seen, _ in kept):
                kept.append((item, origin))
        sourced = kept
    _forget(origins, here)
    target[key] = [item for item, _ in sourced]
    origins[here] = layer
    for index, (item, origin) in enumerate(sourced):
        _mark(origins, (*here, str(index)), item, origin)


def _mark(origins: dict, path: tuple[str, ...], value: Any, layer: str) -> None:
    origins[path] = layer
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return
    for key, item in children:
        _mark(origins, (*path, str(key)), item, layer)


def _forget(origins: dict, path: tuple[str, ...]) -> None:
    for key in [key for key in origins if key[: len(path)] == path]:
        del origins[key]


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    return _KINDS.get(type(value), f"a {type(value).__name__}")
