"""``mkdocs-aigen eval``: leave-one-page-out scores and drafts, grounded against ungrounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import write_site

from mkdocs_aigen.evaluation import distinct_n

PAGES = {
    "caching.md": "# Caching\n\n## Overview\n\nwidgets keeps rendered pages in `cache_dir`, keyed by the page's digest,"
                  " so an unchanged page is never rendered twice.\n\n## Clearing\n\nCall `widgets.clear()` to drop"
                  " every cached render; the next build renders all pages again.\n",
    "rendering.md": "# Rendering\n\n## Overview\n\nwidgets renders each page once per build and stores the result in"
                    " `cache_dir`, keyed by the page's digest, unless the cache is off.\n\n## Themes\n\nA theme "
                    "changes how widgets renders headings, code and tables; the cache is keyed by the theme too.\n",
}


def test_distinct_n_counts_unique_ngrams():
    assert distinct_n(["a b c d a b c d"], 4) == pytest.approx(4 / 5)
    assert distinct_n(["a b"], 4) == 1.0


@pytest.mark.build
def test_eval_reports_grounded_and_ungrounded_measures(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, stubs=False)
    for name, text in PAGES.items():
        (tmp_path / "docs" / name).write_text(text)
    out = tmp_path / "eval.json"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs_aigen.cli", "eval", "-f", str(config), "--max-pages", "2", "--json", str(out),
         "--no-progress"], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["grounding"] is True and len(report["pages"]) == 2
    grounded, ungrounded = report["perplexity"]["grounded"], report["perplexity"]["ungrounded"]
    assert grounded > 1 and ungrounded > 1 and report["perplexity"]["ratio"] == pytest.approx(grounded / ungrounded,
                                                                                                rel=1e-3)
    for key in ("total", "resolved"):
        assert isinstance(report["references"][key], int)
    assert report["code"]["valid_first_try"] <= report["code"]["total"]
    # every held-out section was drafted in both modes; only grounded drafts cite passages
    assert report["sections"] == report["ungrounded"]["sections"] >= 4
    assert report["cited"] >= 1 and report["ungrounded"]["cited"] == 0
    assert "held-out perplexity" in run.stdout and "perplexity ratio" in run.stdout
