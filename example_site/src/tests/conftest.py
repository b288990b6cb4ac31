"""Tests of tidyconf import it from example_site/src, the source tree the docs describe (no install)."""

import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1]
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
