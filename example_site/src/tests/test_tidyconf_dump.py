"""dump(): every format round-trips through load(), and secrets stay masked unless revealed."""

import json

import pytest
import tidyconf
import tomllib
from shop_settings import AppConfig

FULL = {
    "database": {"url": "postgresql://db/shop", "pool_size": 10, "pool": {"min_size": 2, "max_size": 4}},
    "server": {"port": 8080},
    "allowed_hosts": ["shop.example.com", "ünïcode \"quoted\""],
    "servers": {"web": {"port": 8081}, "admin": {"host": "0.0.0.0"}},
    "cache": {"ttl": "2h", "directory": "/srv/cache"},
    "payments": {"api_key": "s3cr3t"},
    "retry_delays": [1, 2],
    "color": "blue",
}


@pytest.mark.parametrize("format", ["toml", "json", "yaml"])
def test_dump_round_trips_through_load(tmp_path, format):
    config = tidyconf.validate(FULL, AppConfig)
    path = tmp_path / f"dumped.{format}"
    path.write_text(tidyconf.dump(config, format=format, reveal_secrets=True), encoding="utf-8")
    assert tidyconf.load(path, schema=AppConfig) == config


@pytest.mark.parametrize("format", ["toml", "json", "yaml"])
def test_secrets_are_masked_by_default(format):
    text = tidyconf.dump(tidyconf.validate(FULL, AppConfig), format=format)
    assert "s3cr3t" not in text and "***" in text


def test_dump_accepts_merged_objects_and_mappings():
    merged = tidyconf.merge(tidyconf.dict_layer({"server": {"port": 1}, "hosts": ["a"]}))
    assert tidyconf.dump(merged) == 'hosts = ["a"]\n\n[server]\nport = 1\n'
    assert json.loads(tidyconf.dump(merged, format="json")) == {"server": {"port": 1}, "hosts": ["a"]}


def test_arrays_of_tables_and_none_in_toml():
    text = tidyconf.dump({"a": None, "hooks": [{"name": "x", "opts": {"deep": 1}}, {"name": "y"}]})
    assert tomllib.loads(text) == {"hooks": [{"name": "x", "opts": {"deep": 1}}, {"name": "y"}]}


def test_dump_rejects_what_it_cannot_write():
    with pytest.raises(TypeError, match="schema instance or a mapping"):
        tidyconf.dump(AppConfig)
    with pytest.raises(ValueError, match="unknown format"):
        tidyconf.dump({}, format="ini")
