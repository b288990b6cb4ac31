"""example_site documents a real package: tidyconf's own tests (example_site/src/tests) pass.

They run in a child pytest so that tidyconf is imported from example_site/src, exactly as the
docs describe it, and never shadows or is shadowed by this project's modules.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_TESTS = ROOT / "example_site" / "src" / "tests"


@pytest.mark.build
def test_tidyconf_package_tests_pass():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PACKAGE_TESTS)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 60, result.stdout[-2000:]
