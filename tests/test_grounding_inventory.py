"""The package inventory (griffe): signatures, docstring sections, re-exports, broken modules."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mkdocs_aigen.grounding.inventory import Inventory, InventoryError, load_inventory

LOADER = '''\
"""Loading configuration files."""

VERSION: str = '1.2'
"""The file format version."""


def load(path: str, *, env: bool = True, layers: list[str] | None = None) -> "Settings":
    """Load a configuration file.

    Args:
        path: Where the file is.
        env: Read environment variables too.

    Returns:
        The merged settings.

    Raises:
        ValueError: When the file is not valid TOML.

    Examples:
        >>> load("app.toml")
        Settings(...)
    """


def dump(config, /, fmt='toml', *extra, reveal, **options):
    """Write a configuration.

    :param config: What to write.
    :param reveal: Show secrets.
    :returns: The text.
    """


def _helper():
    """Private."""
'''

SETTINGS = '''\
class Settings:
    """Typed settings.

    Parameters
    ----------
    data : dict
        The raw values.
    """

    def __init__(self, data=None, strict: bool = False):
        self.data = data

    def get(self, key: str, default=None):
        """A value.

        Args:
            key: Its dotted name.
        """

    @property
    def size(self) -> int:
        """How many values."""

    def _private(self):
        pass
'''


def write_package(root: Path, name: str = "confy", broken: bool = True) -> Path:
    package = root / "src" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f'"""Configuration made tidy."""\nfrom {name}.loader import load, dump\nfrom {name}.settings import Settings\n'
        f'from {name}._impl import fast as quick\nimport os\n')
    (package / "loader.py").write_text(LOADER)
    (package / "settings.py").write_text(SETTINGS)
    (package / "_impl.py").write_text('def fast(x: int) -> int:\n    """Quickly."""\n    return x\n')
    if broken:
        (package / "broken.py").write_text("def oops(:\n")
    return root / "src"


def test_signatures_docstrings_and_reexports(tmp_path):
    inventory = load_inventory("confy", [write_package(tmp_path)], root=tmp_path)
    load = inventory.objects["confy.loader.load"]
    assert load.kind == "function"
    assert load.signature == "load(path: str, *, env: bool = True, layers: list[str] | None = None) -> Settings"
    assert [(p.name, p.annotation, p.default, p.kind) for p in load.parameters] == [
        ("path", "str", None, "positional_or_keyword"), ("env", "bool", "True", "keyword_only"),
        ("layers", "list[str] | None", "None", "keyword_only")]
    assert [p.description for p in load.parameters] == ["Where the file is.", "Read environment variables too.", ""]
    assert load.returns == "The merged settings."
    assert load.raises == (("ValueError", "When the file is not valid TOML."),)
    assert load.examples == ('load("app.toml")\n# Settings(...)',)
    assert load.summary == "Load a configuration file."
    assert (load.filepath, load.lineno) == ("src/confy/loader.py", 7)

    dump = inventory.objects["confy.loader.dump"]  # sphinx style, every parameter kind
    assert dump.signature == "dump(config, /, fmt='toml', *extra, reveal, **options)"
    assert {p.name: p.description for p in dump.parameters}["reveal"] == "Show secrets."

    settings = inventory.objects["confy.settings.Settings"]  # numpy style, parameters from __init__
    assert settings.signature == "Settings(data=None, strict: bool = False)"
    assert [(p.name, p.description) for p in settings.parameters] == [("data", "The raw values."), ("strict", "")]
    assert inventory.objects["confy.settings.Settings.get"].signature == "Settings.get(key: str, default=None)"
    assert inventory.objects["confy.settings.Settings.size"].signature == "size: int"
    assert inventory.objects["confy.loader.VERSION"].signature == "VERSION: str = '1.2'"
    assert inventory.objects["confy"].summary == "Configuration made tidy."

    assert inventory.objects["confy.load"].target == "confy.loader.load"
    assert inventory.resolve("confy.load") is load
    assert inventory.resolve("confy.Settings.get").path == "confy.settings.Settings.get"
    quick = inventory.resolve("confy.quick")  # re-exported from a private module: the re-export has the facts
    assert quick.signature == "fast(x: int) -> int" and quick.target == "confy._impl.fast"
    assert inventory.resolve("confy.nothing") is None and inventory.resolve("os.path") is None

    names = inventory.names()
    assert {"confy.load", "confy.Settings.get", "confy.loader.dump", "confy.settings.Settings.size"} <= names
    assert not {n for n in names if any(part.startswith("_") for part in n.split("."))}
    assert "confy.os" not in names  # an import of another package is no re-export


def test_a_module_with_a_syntax_error_leaves_the_rest(tmp_path):
    inventory = load_inventory("confy", [write_package(tmp_path)], root=tmp_path)
    assert inventory.modules == {"confy", "confy.loader", "confy.settings"}
    assert len(inventory.skipped) == 1 and "broken.py" in inventory.skipped[0]


def test_round_trip_through_json(tmp_path):
    inventory = load_inventory("confy", [write_package(tmp_path)], root=tmp_path)
    again = Inventory.from_dict(json.loads(json.dumps(inventory.to_dict())))
    assert again == inventory and again.names() == inventory.names()
    assert again.resolve("confy.load") == inventory.objects["confy.loader.load"]


def test_all_limits_reexports(tmp_path):
    src = write_package(tmp_path, broken=False)
    init = src / "confy" / "__init__.py"
    init.write_text(init.read_text() + '__all__ = ["load"]\n')
    names = load_inventory("confy", [src]).names()
    assert "confy.load" in names and "confy.dump" not in names and "confy.loader.dump" in names


def test_missing_or_unparsable_package_is_one_line(tmp_path):
    with pytest.raises(InventoryError, match=r"^plugins\.aigen\.package: 'nosuchpkg_zz' is found neither under "
                                             r"plugins\.aigen\.paths") as missing:
        load_inventory("nosuchpkg_zz", [tmp_path])
    bad = tmp_path / "badpkg"
    bad.mkdir()
    (bad / "__init__.py").write_text("x = (\n")
    with pytest.raises(InventoryError, match=r"^plugins\.aigen\.package: 'badpkg' cannot be read") as broken:
        load_inventory("badpkg", [tmp_path])
    assert "\n" not in str(missing.value) + str(broken.value)


def test_installed_package_is_used_when_not_under_paths(tmp_path):
    inventory = load_inventory("textwrap", [tmp_path / "src"])
    assert inventory.resolve("textwrap.dedent").signature.startswith("dedent(text")
    assert Path(inventory.objects["textwrap.dedent"].filepath).samefile(textwrap.__file__)
