"""Grounded builds end to end: a warm build neither rebuilds the index nor imports torch, bm25s or
griffe; a package that cannot be read is one warning (``--strict`` fails) and drafts go on ungrounded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import write_site
from test_build import REPO, mkdocs_build
from test_grounding_inventory import write_package

pytestmark = pytest.mark.build


def imported_modules(config) -> tuple[subprocess.CompletedProcess, set[str]]:
    """A build run with ``-X importtime``, and the top-level names of the modules it imported."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "mkdocs", "build", "-f", str(config)],
                            capture_output=True, text=True,
                            env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in result.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return result, names


def test_grounded_build_warm_and_with_an_unreadable_package(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, aigen="      package: confy\n")
    write_package(tmp_path)
    cold = mkdocs_build(config, "--strict")
    assert cold.returncode == 0, cold.stderr
    index = tmp_path / ".aigen" / "grounding" / "index.json"
    stored = index.stat().st_mtime_ns
    assert "api:confy.load" in index.read_text()

    warm, modules = imported_modules(config)
    assert warm.returncode == 0, warm.stderr
    assert "drafted 0 sections" in warm.stderr and index.stat().st_mtime_ns == stored
    assert not modules & {"torch", "transformers", "bm25s", "griffe"}, sorted(modules & {"torch", "bm25s"})

    (tmp_path / "src" / "confy" / "__init__.py").write_text("x = (\n")
    strict = mkdocs_build(config, "--strict")
    warnings = [line for line in strict.stderr.splitlines() if "plugins.aigen.package" in line]
    assert strict.returncode == 1 and len(warnings) == 1, strict.stderr
    assert "cannot be read" in warnings[0] and "ungrounded" in warnings[0] and "Traceback" not in strict.stderr
    lenient = mkdocs_build(config)
    assert lenient.returncode == 0, lenient.stderr
    assert 'class="aigen-draft"' in (tmp_path / "site" / "guide" / "index.html").read_text()
