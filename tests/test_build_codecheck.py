"""Tier 3: a real mkdocs build whose generator is scripted to draft a broken sample, then a valid one."""

from __future__ import annotations

import json
import re

import pytest
from conftest import write_site
from fakes import FakeBackend
from mkdocs.commands.build import build
from mkdocs.config import load_config

from mkdocs_aigen.project import Project

pytestmark = pytest.mark.build


def test_broken_sample_resampled_to_valid_is_marked_ok(tmp_path, tiny_model_dir):
    config_file = write_site(tmp_path, tiny_model_dir)
    samples = iter(["print('unclosed'\n", "print('fixed')"] * 10)
    model = FakeBackend(lambda r: next(samples) if r.stop_at_fence else "Prose that explains the step.")
    config = load_config(str(config_file))
    plugin = config.plugins["aigen"]
    plugin.on_startup(command="build", dirty=False)
    plugin.on_config(config)  # creates the project; the build keeps it (same settings)
    plugin.project.__dict__["backend"] = model  # the scripted generator instead of the tiny model
    project: Project = plugin.project
    build(load_config(str(config_file)))
    assert plugin.project is project

    html = (tmp_path / "site" / "guide" / "index.html").read_text()
    example = re.search(r'<div class="aigen-draft"[^>]*data-aigen-section="example"[^>]*>', html).group(0)
    assert 'data-aigen-code="ok"' in example
    assert "fixed" in html and "unclosed" not in html and "aigen-code-error" not in html
    report = json.loads((tmp_path / ".aigen" / "report.json").read_text())
    guide = next(p for p in report["pages"] if p["page"] == "guide.md")
    assert guide["code"] == {"drafted": 1, "valid_first_try": 0, "valid_after_retries": 1, "invalid": 0,
                             "unchecked": 0}
