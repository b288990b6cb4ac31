"""Tier 3: a real mkdocs build whose generator always drafts broken code: no broken sample is published."""

from __future__ import annotations

import html as htmlmod
import json
import re

import pytest
from conftest import write_site
from fakes import FakeBackend
from mkdocs.commands.build import build
from mkdocs.config import load_config

from mkdocs_aigen.checks.code import check_code

pytestmark = pytest.mark.build


def test_a_sample_that_stays_broken_is_left_out_of_the_built_page(tmp_path, tiny_model_dir):
    config_file = write_site(tmp_path, tiny_model_dir)
    model = FakeBackend(lambda r: "print('unclosed'\n" if r.stop_at_fence else "Prose that explains the step.")
    config = load_config(str(config_file))
    plugin = config.plugins["aigen"]
    plugin.on_startup(command="build", dirty=False)
    plugin.on_config(config)
    plugin.project.__dict__["backend"] = model  # the scripted generator instead of the tiny model
    build(load_config(str(config_file)))

    page = (tmp_path / "site" / "guide" / "index.html").read_text()
    assert len([r for r in model.generator.requests if r.stop_at_fence]) == 2  # code_retries: 1
    assert "unclosed" not in page
    for block in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S):
        code = htmlmod.unescape(re.sub(r"<[^>]+>", "", block))
        assert check_code("python", code).status != "invalid", code
    assert ("<p><em>A python sample was left out: it was still invalid after 2 attempts "
            "(<code>SyntaxError: '(' was never closed (line 1)</code>).</em></p>") in page
    report = json.loads((tmp_path / ".aigen" / "report.json").read_text())
    guide = next(p for p in report["pages"] if p["page"] == "guide.md")
    samples = [c for s in guide["sections"] for c in s["code"]]
    assert [c["published"] for c in samples] == [False] and guide["code"]["invalid"] == 1
