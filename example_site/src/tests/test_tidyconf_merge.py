"""Merging: later wins, tables recurse, list strategies, shape conflicts and provenance."""

import pytest
import tidyconf


def layer(name, **data):
    return tidyconf.dict_layer(data, name=name)


BASE = layer(
    "config.toml",
    log_level="info",
    database={"url": "postgresql://localhost/shop", "pool_size": 5},
    server={"port": 8000, "allowed_hosts": ["localhost"]},
)
PRODUCTION = layer(
    "production.toml",
    log_level="warning",
    database={"url": "postgresql://db.internal/shop"},
    server={"allowed_hosts": ["shop.example.com"]},
)


def test_the_worked_example_from_the_merging_guide():
    merged = tidyconf.merge(BASE, PRODUCTION)
    assert merged.to_dict() == {
        "log_level": "warning",
        "database": {"url": "postgresql://db.internal/shop", "pool_size": 5},
        "server": {"port": 8000, "allowed_hosts": ["shop.example.com"]},
    }
    assert [merged.origin(key) for key in ("log_level", "database.url", "database.pool_size")] == [
        "production.toml",
        "production.toml",
        "config.toml",
    ]
    assert merged.layers == (BASE, PRODUCTION)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("replace", ["b", "c"]), ("append", ["a", "b", "b", "c"]), ("unique", ["a", "b", "c"])],
)
def test_list_strategies(strategy, expected):
    merged = tidyconf.merge(layer("one", plugins=["a", "b"]), layer("two", plugins=["b", "c"]), lists=strategy)
    assert merged["plugins"] == tuple(expected)
    assert merged.origin("plugins") == "two"


def test_item_origins_after_appending():
    merged = tidyconf.merge(layer("one", plugins=["a", "b"]), layer("two", plugins=["b", "c"]), lists="unique")
    assert [merged.origin(f"plugins.{index}") for index in range(3)] == ["one", "one", "two"]


def test_unique_compares_tables_inside_lists():
    merged = tidyconf.merge(layer("one", hooks=[{"name": "a"}]), layer("two", hooks=[{"name": "a"}, {"name": "b"}]),
                            lists="unique")
    assert merged.to_dict()["hooks"] == [{"name": "a"}, {"name": "b"}]


def test_a_table_cannot_be_replaced_by_a_value():
    env = tidyconf.env_layer("SHOP", environ={"SHOP_DATABASE": "postgresql://x"})
    with pytest.raises(tidyconf.MergeError) as info:
        tidyconf.merge(BASE, env)
    assert (info.value.path, info.value.lower, info.value.upper) == ("database", "config.toml", "env")
    assert str(info.value) == "cannot merge 'database' from env into config.toml:\n  a table cannot be replaced by a string"
    with pytest.raises(tidyconf.MergeError, match="an integer cannot be replaced by a table"):
        tidyconf.merge(layer("a", port=1), layer("b", port={"x": 1}))


def test_nothing_is_removed_and_none_is_a_value():
    merged = tidyconf.merge(BASE, layer("cli", log_level=None))
    assert merged["log_level"] is None and merged["database"]["pool_size"] == 5


def test_origin_of_an_unset_key_is_a_key_error():
    with pytest.raises(KeyError):
        tidyconf.merge(BASE).origin("server.host")


def test_merge_takes_only_layers_and_known_strategies():
    with pytest.raises(TypeError, match="Layer"):
        tidyconf.merge({"a": 1})
    with pytest.raises(ValueError, match="strategy"):
        tidyconf.merge(BASE, lists="merge")


def test_to_dict_is_a_deep_copy():
    merged = tidyconf.merge(BASE)
    copy = merged.to_dict()
    copy["database"]["pool_size"] = 99
    assert merged["database"]["pool_size"] == 5
