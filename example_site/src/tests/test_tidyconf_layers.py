"""Layers: files in three formats, the environment's naming rules, dictionaries."""

import os
from pathlib import Path

import pytest
import tidyconf
from tidyconf.layers import thaw


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_three_formats_give_the_same_layer(tmp_path):
    toml = write(tmp_path / "c.toml", '[database]\nurl = "sqlite://"\npool_size = 10\n')
    yaml = write(tmp_path / "c.yml", "database:\n  url: sqlite://\n  pool_size: 10\n")
    json_file = write(tmp_path / "c.json", '{"database": {"url": "sqlite://", "pool_size": 10}}')
    data = [thaw(tidyconf.file_layer(path).data) for path in (toml, yaml, json_file)]
    assert data[0] == data[1] == data[2] == {"database": {"url": "sqlite://", "pool_size": 10}}


def test_a_file_layer_is_named_by_the_path_as_written_and_sourced_by_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config.toml", "a = 1\n")
    layer = tidyconf.file_layer("config.toml")
    assert (layer.name, layer.source) == ("config.toml", str(tmp_path.resolve() / "config.toml"))
    assert tidyconf.file_layer("config.toml", name="base").name == "base"


def test_layers_are_read_only_and_compare_by_value():
    layer = tidyconf.dict_layer({"server": {"port": 8000}, "hosts": ["a"]})
    with pytest.raises(TypeError):
        layer.data["server"]["port"] = 1
    assert layer == tidyconf.Layer("defaults", {"server": {"port": 8000}, "hosts": ["a"]})
    assert layer != tidyconf.Layer("defaults", {"server": {"port": 8001}, "hosts": ["a"]})


def test_dict_layer_copies_its_mapping():
    data = {"server": {"port": 8000}}
    layer = tidyconf.dict_layer(data, name="command line")
    data["server"]["port"] = 1
    assert layer.data["server"]["port"] == 8000 and layer.name == "command line"


def test_a_missing_file_is_an_error_unless_optional(tmp_path):
    with pytest.raises(tidyconf.SourceNotFoundError) as info:
        tidyconf.file_layer(tmp_path / "local.toml")
    assert isinstance(info.value, FileNotFoundError) and str(info.value).endswith("local.toml: no such file")
    assert dict(tidyconf.file_layer(tmp_path / "local.toml", required=False).data) == {}


def test_parse_errors_name_the_file_and_line(tmp_path):
    path = write(tmp_path / "production.toml", 'a = 1\n\n\n\n\n\nb c = 2\n')
    with pytest.raises(tidyconf.ParseError) as info:
        tidyconf.file_layer(path)
    assert (info.value.path, info.value.line) == (str(path), 7)
    assert str(info.value) == f"{path}:7: expected '=' after a key"
    bad_json = write(tmp_path / "c.json", '{\n  "a": 1,\n}')
    with pytest.raises(tidyconf.ParseError) as info:
        tidyconf.file_layer(bad_json)
    assert info.value.line == 3


def test_yaml_is_loaded_safely_and_must_be_a_mapping(tmp_path):
    with pytest.raises(tidyconf.ParseError):
        tidyconf.file_layer(write(tmp_path / "evil.yaml", "a: !!python/object/apply:os.system ['true']\n"))
    with pytest.raises(tidyconf.ParseError, match="top level must be a mapping"):
        tidyconf.file_layer(write(tmp_path / "list.yaml", "- a\n- b\n"))
    assert dict(tidyconf.file_layer(write(tmp_path / "empty.yaml", "")).data) == {}


def test_the_format_comes_from_the_extension_or_the_argument(tmp_path):
    conf = write(tmp_path / "shop.conf", "port = 1\n")
    with pytest.raises(ValueError, match="shop.conf"):
        tidyconf.file_layer(conf)
    assert tidyconf.file_layer(conf, format="toml").data["port"] == 1


def test_env_layer_maps_names_to_key_paths():
    environ = {
        "SHOP_DEBUG": "yes",
        "SHOP_LOG_LEVEL": "warning",
        "SHOP_DATABASE__POOL_SIZE": "10",
        "SHOP_SERVERS__WEB__PORT": "8080",
        "SHOPPING_CART": "x",
        "MYSHOP_X": "x",
        "shop_lower": "x",
        "SHOP_EMPTY": "",
    }
    layer = tidyconf.env_layer("SHOP", environ=environ)
    assert (layer.name, layer.source) == ("env", "environment")
    assert thaw(layer.data) == {
        "debug": "yes",
        "log_level": "warning",
        "database": {"pool_size": "10"},
        "servers": {"web": {"port": "8080"}},
    }
    assert thaw(tidyconf.env_layer("SHOP", environ=environ, keep_empty=True).data)["empty"] == ""


def test_env_layer_custom_separator_and_default_environ(monkeypatch):
    monkeypatch.setenv("TIDYTEST_DATABASE_X_URL", "sqlite://")
    assert thaw(tidyconf.env_layer("TIDYTEST", separator="_x_").data) == {"database": {"url": "sqlite://"}}
    assert "TIDYTEST_DATABASE_X_URL" in os.environ
