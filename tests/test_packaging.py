"""The wheel carries the packaged templates, CSS and shipped base model; the CLI answers --help."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.build

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_templates_assets_and_base_model(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(tmp_path)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    for kind in ("tutorial", "how-to", "reference", "explanation", "blog-post"):
        assert f"mkdocs_aigen/_templates/{kind}.md.j2" in names
    assert "mkdocs_aigen/assets/aigen.css" in names
    assert any(n.startswith("mkdocs_aigen/ml/base/") and n.endswith(".safetensors") for n in names)
    assert not [n for n in names if "tiny" in n or n.startswith("tests/")]  # test fixtures stay out of the wheel
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "aigen = mkdocs_aigen.plugin:AigenPlugin" in zipfile.ZipFile(next(tmp_path.glob("*.whl"))).read(
        entry_points).decode()


def test_cli_help_lists_subcommands():
    out = subprocess.run([sys.executable, "-m", "mkdocs_aigen.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("draft", "status", "approve", "corpus", "train", "pretrain"):
        assert command in out
