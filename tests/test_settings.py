"""Settings: options declared once, resolved once, combined options and bad paths as one line each."""

from __future__ import annotations

import pytest
from conftest import write_site
from test_build import mkdocs_build

from mkdocs_aigen.config import AigenConfig
from mkdocs_aigen.drafting.engine import DraftSettings
from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.ml.backends import BATCH_SIZE
from mkdocs_aigen.ml.decoding import DecodingSettings
from mkdocs_aigen.settings import Settings


def test_defaults_come_from_the_modules_that_own_them(tmp_path):
    settings = Settings.load({}, tmp_path, tmp_path / "docs")
    assert settings.batch_size == BATCH_SIZE and settings.backend == "local"
    assert settings.draft == DraftSettings(decoding=DecodingSettings())
    assert settings.backend_settings().batch_size == BATCH_SIZE


@pytest.mark.parametrize(("options", "message"), [
    ({"quantize": "int8", "device": "cuda"}, "plugins.aigen.quantize: int8 needs device: cpu"),
    ({"batch_size": 0}, "plugins.aigen.batch_size: must be >= 1"),
    ({"max_new_tokens": 0}, "plugins.aigen.max_new_tokens must be >= 1"),
    ({"code_retries": -1}, "plugins.aigen.code_retries: must be >= 0"),
    ({"verify_code": "always"}, "plugins.aigen.verify_code:"),
    ({"backend": "remote"}, "plugins.aigen.backend:"),
    ({"model": "no/such/dir"}, "plugins.aigen.model:"),
    ({"cache_dir": "docs/cache"}, "plugins.aigen.cache_dir: must be outside docs_dir"),
])
def test_bad_options_are_one_line_naming_the_option(tmp_path, options, message):
    with pytest.raises(SettingsError) as caught:
        Settings.load(options, tmp_path, tmp_path / "docs", source="site/mkdocs.yml")
    text = str(caught.value)
    assert text.startswith("site/mkdocs.yml: ") and message in text and "\n" not in text


def test_int8_without_device_runs_on_cpu(tmp_path):
    settings = Settings.load({"quantize": "int8"}, tmp_path, tmp_path / "docs")
    assert settings.backend_settings().quantize == "int8" and settings.device is None


def test_every_option_is_declared_once_with_a_docstring():
    import ast
    import inspect

    import mkdocs_aigen.config as config

    body = next(node for node in ast.parse(inspect.getsource(config)).body
                if isinstance(node, ast.ClassDef) and node.name == "AigenConfig").body
    declared = [node.targets[0].id for node in body if isinstance(node, ast.Assign)]
    documented = [body[i - 1].targets[0].id for i, node in enumerate(body)
                  if i and isinstance(node, ast.Expr) and isinstance(body[i - 1], ast.Assign)]
    assert declared == documented and len(set(declared)) == len(declared)
    assert sorted(declared) == sorted(name for name, _ in AigenConfig._schema)


@pytest.mark.build
@pytest.mark.parametrize(("aigen", "message"), [
    ("      quantize: int8\n      device: cuda\n", "plugins.aigen.quantize: int8 needs device: cpu"),
    ("      generate: cache-only\n", "plugins.aigen.model:"),
    ("      generate: off\n", "plugins.aigen.model:"),
])
def test_bad_settings_fail_the_build_in_one_line(tmp_path, tiny_model_dir, aigen, message):
    model = tiny_model_dir if "quantize" in aigen else tmp_path / "missing-model"
    config = write_site(tmp_path, model, aigen=aigen)
    result = mkdocs_build(config)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if message in line]
    assert len(errors) == 1, result.stderr
