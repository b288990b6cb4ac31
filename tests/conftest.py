"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The test machines are small and shared: one torch thread per process avoids oversubscription
# (set before torch is imported; an explicit OMP_NUM_THREADS wins).
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def one_thread():
    """Torch on one thread for the duration of a test (training tests on a shared 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen3 model dir built locally once per session (no download)."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def write_site(root: Path, model_dir: Path, *, aigen: str = "", extra_yaml: str = "", stubs: bool = True) -> Path:
    """A small mkdocs-material site with authored pages, a blog and (optionally) stubs; returns mkdocs.yml."""
    docs = root / "docs"
    (docs / "blog" / "posts").mkdir(parents=True, exist_ok=True)
    (docs / "index.md").write_text("# Home\n\nWelcome to *widgets*.\n\n## Install\n\n```bash\npip install widgets\n```\n")
    (docs / "blog" / "index.md").write_text("# Blog\n")
    (docs / "blog" / "posts" / "hello.md").write_text(
        "---\ndate: 2026-01-05\n---\n# Hello widgets\n\nFirst post.\n\n<!-- more -->\n\nMore text.\n")
    if stubs:
        (docs / "guide.md").write_text(
            "---\ntitle: Caching guide\naigen:\n  topic: How widgets caches renders\n  kind: how-to\n"
            "  code: python\n  notes: Mention cache_dir.\n---\n# Caching guide\n\n"
            "## Steps\n\nAuthored steps: set `cache_dir` and **rebuild**.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")
        (docs / "blog" / "posts" / "release.md").write_text(
            "---\ndate: 2026-02-01\naigen:\n  topic: Widgets 2.0 released\n  kind: blog-post\n  code: none\n---\n"
            "# Widgets 2.0\n")
        (docs / "zh.md").write_text(
            "---\ntitle: 缓存\naigen:\n  topic: 如何配置缓存目录\n  kind: explanation\n  code: none\n---\n")
    config = root / "mkdocs.yml"
    config.write_text(
        f"site_name: widgets\ntheme:\n  name: material\nmarkdown_extensions:\n  - admonition\n"
        f"  - toc:\n      permalink: true\n  - tables\n  - fenced_code\n{extra_yaml}"
        f"plugins:\n  - search\n  - blog\n  - aigen:\n      model: {model_dir}\n      max_new_tokens: 16\n"
        f"      code_retries: 1\n{aigen}"
    )
    return config


def pytest_collection_modifyitems(items):
    """Tiers: a test marked neither ``build`` nor ``slow`` is a ``unit`` test (``pytest -m unit``);
    a test that needs a model cannot be one."""
    for item in items:
        if any(item.get_closest_marker(tier) for tier in ("build", "slow")):
            continue
        if "tiny_model_dir" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid}: uses a model; mark it pytest.mark.build")
        item.add_marker(pytest.mark.unit)
