"""The tidyconf command: check, show and explain, their output and exit statuses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tidyconf.cli import main

SCHEMA = ["--schema", "shop_settings:AppConfig"]


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text('[database]\nurl = "postgresql://localhost/shop"\npool_size = 10\n[server]\nport = 8080\n')
    Path("production.toml").write_text('[database]\npool_size = "ten"\n[server]\nport = 70000\n')
    return tmp_path


def test_check_valid_and_invalid(site, capsys):
    assert main(["check", "config.toml", *SCHEMA]) == 0
    assert capsys.readouterr().out == "config.toml: valid AppConfig\n"
    assert main(["check", "config.toml", "production.toml", *SCHEMA]) == 1
    assert capsys.readouterr().out == (
        "config.toml + production.toml: 2 errors while validating AppConfig\n"
        "  database.pool_size: expected int, got 'ten' (from production.toml)\n"
        "  server.port: must be at most 65535, got 70000 (from production.toml)\n"
    )
    assert main(["check", "config.toml", "production.toml", "-q", *SCHEMA]) == 1
    assert capsys.readouterr().out == ""


def test_check_json_masks_secrets(site, capsys, monkeypatch):
    monkeypatch.setenv("SHOP_PAYMENTS__API_KEY", "1234")
    monkeypatch.setenv("SHOP_PAYMENTS__COLOUR", "x")
    assert main(["check", "config.toml", "--env-prefix", "SHOP", "--format", "json", *SCHEMA]) == 1
    [error] = json.loads(capsys.readouterr().out)
    assert error == {"path": "payments.colour", "message": "unknown key", "value": "x", "origin": "env"}
    assert main(["check", "config.toml", "--env-prefix", "SHOP", "--no-strict", *SCHEMA]) == 0


def test_show_with_schema_and_origins(site, capsys):
    assert main(["show", "config.toml", "--origins", *SCHEMA]) == 0
    out = capsys.readouterr().out
    assert 'log_level = "info"  # default' in out
    assert "[database]\nurl = \"postgresql://localhost/shop\"  # config.toml\npool_size = 10  # config.toml\n" in out
    assert "port = 8080  # config.toml" in out


def test_show_raw_yaml_and_json_origins(site, capsys):
    assert main(["show", "config.toml", "--format", "yaml"]) == 0
    assert capsys.readouterr().out == "database:\n  url: postgresql://localhost/shop\n  pool_size: 10\nserver:\n  port: 8080\n"
    assert main(["show", "config.toml", "--format", "json", "--origins"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["server"]["port"] == {"value": 8080, "origin": "config.toml"}


def test_explain_shows_every_layer_and_the_winner(site, capsys, monkeypatch):
    monkeypatch.setenv("SHOP_SERVER__PORT", "9000")
    Path("production.toml").write_text("log_level = 'warning'\n")
    assert main(["explain", "server.port", "config.toml", "production.toml", "--env-prefix", "SHOP", *SCHEMA]) == 0
    assert capsys.readouterr().out == (
        "server.port\n"
        "  config.toml       8080\n"
        "  production.toml   (not set)\n"
        "  env               '9000'   <- wins (SHOP_SERVER__PORT)\n"
        "  default           8000\n"
        "  converted         9000\n"
    )


def test_problems_are_one_line_on_stderr_with_status_2(site, capsys):
    Path("broken.toml").write_text("a = 1\nb c = 2\n")
    assert main(["show", "broken.toml"]) == 2
    assert capsys.readouterr().err == "tidyconf: error: broken.toml:2: expected '=' after a key\n"
    assert main(["check", "config.toml"]) == 2
    assert "needs --schema" in capsys.readouterr().err
    assert main(["check", "config.toml", "--schema", "no_such_module:X"]) == 2
    assert main(["show", "missing.toml"]) == 2
    assert capsys.readouterr().err.count("\n") == 2


def test_optional_files_may_be_missing(site, capsys):
    assert main(["show", "config.toml", "--optional", "config.local.toml"]) == 0


def test_python_dash_m_tidyconf_runs(site):
    src = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "tidyconf", "--version"], capture_output=True, text=True,
                            cwd=src, check=False)
    assert (result.returncode, result.stdout) == (0, "tidyconf 0.6.0\n")
