"""Validation: conversions, collected errors with origins, strictness, constraints, secrets."""

from datetime import timedelta
from pathlib import Path

import pytest
import tidyconf
from shop_settings import AppConfig, Color, Database, Server


def errors_of(data, schema=AppConfig, **options):
    with pytest.raises(tidyconf.ValidationError) as info:
        tidyconf.validate(data, schema, **options)
    return info.value


def test_the_getting_started_error_report(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "postgresql://localhost/shop"\npool_size = "ten"\npool_timeout = 3\n')
    with pytest.raises(tidyconf.ValidationError) as info:
        tidyconf.load(tidyconf.file_layer(path, name="config.toml"), schema=AppConfig)
    assert str(info.value) == (
        "2 errors while validating AppConfig\n"
        "  database.pool_size: expected int, got 'ten' (from config.toml)\n"
        "  database.pool_timeout: unknown key; did you mean 'timeout_seconds'? (from config.toml)"
    )
    assert isinstance(info.value, ValueError) and info.value.schema is AppConfig


def test_strings_from_the_environment_are_converted():
    environ = {
        "SHOP_DATABASE__URL": "sqlite://",
        "SHOP_DEBUG": "YES",
        "SHOP_SERVER__PORT": "9000",
        "SHOP_CACHE__TTL": "90s",
        "SHOP_CACHE__DIRECTORY": "~/cache",
        "SHOP_ALLOWED_HOSTS": "shop.example.com, api.example.com",
        "SHOP_RETRY_DELAYS": "[1, 2, 5]",
        "SHOP_DATABASE__TIMEOUT_SECONDS": "2.5",
        "SHOP_COLOR": "blue",
    }
    config = tidyconf.load(tidyconf.env_layer("SHOP", environ=environ), schema=AppConfig)
    assert config.debug is True and config.server.port == 9000
    assert config.cache.ttl == timedelta(seconds=90) and config.cache.directory == Path("~/cache").expanduser()
    assert config.allowed_hosts == ["shop.example.com", "api.example.com"]
    assert config.retry_delays == (1, 2, 5) and config.database.timeout_seconds == 2.5
    assert config.color is Color.BLUE


def test_defaults_fill_what_no_layer_sets():
    config = tidyconf.validate({"database": {"url": "sqlite://"}}, AppConfig)
    assert config == AppConfig(database=Database(url="sqlite://"))
    assert config.server == Server() and config.payments is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("debug", 1, "expected bool, got 1"),
        ("log_level", "loud", "expected one of 'debug', 'info', 'warning', 'error', got 'loud'"),
        ("color", "green", "expected one of 'red', 'blue', got 'green'"),
        ("allowed_hosts", 3, "expected a list, got 3"),
    ],
)
def test_lossy_or_wrong_values_are_rejected(field, value, message):
    [error] = errors_of({"database": {"url": "sqlite://"}, field: value}).errors
    assert (error.path, error.message, error.value) == (field, message, value)


def test_ints_are_not_truncated_and_nothing_becomes_a_string():
    error = errors_of({"database": {"url": 3, "pool_size": 1.5, "timeout_seconds": True}})
    assert [(e.path, e.message) for e in error.errors] == [
        ("database.url", "expected str, got 3"),
        ("database.pool_size", "expected int, got 1.5"),
        ("database.timeout_seconds", "expected float, got True"),
    ]


def test_missing_required_keys_have_no_origin():
    [error] = errors_of(tidyconf.merge(tidyconf.dict_layer({}))).errors
    assert (error.path, error.value, error.origin) == ("database.url", tidyconf.MISSING, None)


def test_constraints_and_list_indexes_in_paths():
    merged = tidyconf.merge(
        tidyconf.dict_layer({"database": {"url": "x"}, "server": {"port": 70000}}, name="config.toml"),
        tidyconf.dict_layer({"servers": {"web": {"hostname": "Web!"}}}, name="env"),
    )
    errors = errors_of(merged).errors
    assert [(e.path, e.message, e.origin) for e in errors] == [
        ("server.port", "must be at most 65535, got 70000", "config.toml"),
        ("servers.web.hostname", "must match '[a-z0-9.-]+', got 'Web!'", "env"),
    ]
    assert errors_of({"database": {"url": "x"}, "retry_delays": [1, "x"]}).errors[0].path == "retry_delays.1"


def test_post_init_value_errors_are_attached_to_the_dataclass_path():
    data = {"database": {"url": "sqlite://", "pool": {"min_size": 5, "max_size": 2}}}
    [error] = errors_of(data).errors
    assert (error.path, error.message) == ("database.pool", "min_size must not be larger than max_size")


def test_unknown_keys_are_errors_only_when_strict():
    data = {"database": {"url": "x", "pool_sise": 3}}
    [error] = errors_of(data).errors
    assert error.message == "unknown key; did you mean 'pool_size'?"
    assert tidyconf.validate(data, AppConfig, strict=False).database.pool_size == 5


def test_a_dash_in_a_key_counts_as_an_underscore():
    assert tidyconf.validate({"database": {"url": "x", "pool-size": 10}}, AppConfig).database.pool_size == 10


def test_secrets_are_wrapped_and_never_shown_in_errors():
    config = tidyconf.validate({"database": {"url": "x"}, "payments": {"api_key": "tok"}}, AppConfig)
    assert config.payments.api_key == tidyconf.Secret("tok") and repr(config.payments.api_key) == "Secret('***')"
    error = errors_of({"database": {"url": "x"}, "payments": {"api_key": 12345}})
    assert error.errors[0].value == tidyconf.Secret("***") and "12345" not in str(error)


def test_schemas_must_be_dataclasses_with_supported_annotations():
    with pytest.raises(TypeError, match="dataclass"):
        tidyconf.validate({}, dict)

    from dataclasses import dataclass

    @dataclass
    class Bad:
        callback: object

    with pytest.raises(TypeError, match="Bad.callback"):
        tidyconf.validate({}, Bad)
