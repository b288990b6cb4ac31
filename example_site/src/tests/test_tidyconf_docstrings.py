"""Every example in tidyconf's docstrings runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest
import tidyconf

MODULES = ["tidyconf"] + [f"tidyconf.{m.name}" for m in pkgutil.iter_modules(tidyconf.__path__) if m.name != "__main__"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_public_object_has_examples():
    lacking = [name for name in tidyconf.__all__ if name not in ("__version__", "MISSING")
               and "Examples:" not in (getattr(tidyconf, name).__doc__ or "")]
    assert lacking == []
