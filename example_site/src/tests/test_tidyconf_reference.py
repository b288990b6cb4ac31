"""The Python API reference page and the package agree: same public names, same signatures."""

import ast
import inspect
import re
from pathlib import Path

import pytest
import tidyconf

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "api.md"
SECTION = re.compile(r"^### `tidyconf\.(\w+)`\n(.*?)(?=^### |^## |\Z)", re.DOTALL | re.MULTILINE)
FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def documented() -> dict[str, str]:
    return dict(SECTION.findall(API_PAGE.read_text(encoding="utf-8")))


def test_the_page_lists_every_public_name_and_nothing_else():
    names = set(documented()) | {"TidyconfError", "SourceNotFoundError", "ParseError", "MergeError",
                                 "ValidationError", "__version__"}
    assert names == set(tidyconf.__all__)


def declared(body: str) -> ast.FunctionDef | None:
    """The documented function, or the documented class's __init__."""
    for block in FENCE.findall(body):
        tree = ast.parse(block.replace(": ...", ": pass"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                return node
            if isinstance(node, ast.ClassDef):
                return next((item for item in node.body if isinstance(item, ast.FunctionDef)
                             and item.name == "__init__"), None)
    return None


def page_parameters(function: ast.FunctionDef) -> list[tuple[str, str, str | None]]:
    arguments = function.args
    rows = [(a.arg, "POSITIONAL_OR_KEYWORD") for a in arguments.args if a.arg != "self"]
    if arguments.vararg:
        rows.append((arguments.vararg.arg, "VAR_POSITIONAL"))
    rows += [(a.arg, "KEYWORD_ONLY") for a in arguments.kwonlyargs]
    defaults = [None] * (len(rows) - len(arguments.defaults) - len(arguments.kwonlyargs) - bool(arguments.vararg))
    defaults += [ast.unparse(d) for d in arguments.defaults] + ([None] if arguments.vararg else [])
    defaults += [None if d is None else ast.unparse(d) for d in arguments.kw_defaults]
    return [(name, kind, default) for (name, kind), default in zip(rows, defaults)]


@pytest.mark.parametrize("name", sorted(name for name, body in documented().items() if declared(body)))
def test_documented_signatures_match_the_code(name):
    function = declared(documented()[name])
    signature = inspect.signature(getattr(tidyconf, name))
    actual = [(p.name, p.kind.name, None if p.default is p.empty else repr(p.default))
              for p in signature.parameters.values()]
    assert actual == [(n, k, d if d is None else repr(ast.literal_eval(d))) for n, k, d in page_parameters(function)]
