"""The ``mkdocs-aigen`` command line: settings read by MkDocs itself, shared flags, help, errors.

End-to-end cases run the installed console script in a subprocess, on real files in tmp_path.
"""

from __future__ import annotations

import io
import logging
import os
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from mkdocs_aigen.cli import COMMANDS, build_parser, main
from mkdocs_aigen.cli.config_file import load_settings, settings_for

pytestmark = pytest.mark.build

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("mkdocs-aigen")
CHECKLIST_KIND = (  # a page kind the package does not ship
    "{% set outline = ['Before you start', 'Checks'] %}\n"
    "{% macro section_prompt(page, heading) %}Write '{{ heading }}' of {{ page.topic }}.{% endmacro %}\n"
    "{% macro code_prompt(page, heading, prose) %}```text\n{% endmacro %}\n"
)


def mkdocs_aigen(cwd: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real console script, importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([str(SCRIPT), *argv], cwd=cwd, env=env, input=stdin, capture_output=True, text=True)


def write_config(root: Path, text: str, name: str = "mkdocs.yml") -> Path:
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root / name


@pytest.fixture
def inheriting_site(tmp_path: Path) -> Path:
    """mkdocs.yml ``INHERIT``s base.yml, the only place that sets ``templates_dir`` (for a custom kind)."""
    write_config(tmp_path, "site_name: base\nplugins:\n  - aigen:\n      templates_dir: kinds\n      generate: off\n",
                 "base.yml")
    write_config(tmp_path, "INHERIT: base.yml\nsite_name: child\n")
    (tmp_path / "kinds").mkdir()
    (tmp_path / "kinds" / "checklist.md.j2").write_text(CHECKLIST_KIND, encoding="utf-8")
    (tmp_path / "docs" / "release.md").write_text(
        "---\naigen:\n  topic: Release checklist\n  kind: checklist\n  code: none\n---\n# Release\n", encoding="utf-8")
    return tmp_path


def test_status_sees_templates_dir_inherited_from_base_config(inheriting_site: Path):
    result = mkdocs_aigen(inheriting_site, "status", "-f", "mkdocs.yml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["release.md (Release checklist)", "  Before you start  stub",
                                              "  Checks            stub"]
    # the kind is known only through base.yml's templates_dir
    write_config(inheriting_site, "site_name: alone\nplugins:\n  - aigen\n", "alone.yml")
    alone = mkdocs_aigen(inheriting_site, "status", "-f", "alone.yml")
    assert alone.returncode == 2 and "unknown kind 'checklist'" in alone.stderr


def test_version_is_the_installed_distribution_s():
    result = mkdocs_aigen(ROOT, "--version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"mkdocs-aigen, version {metadata.version('mkdocs-aigen')} from ")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.NAME)
def test_help_shows_the_example_and_every_flag_is_described(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command.NAME, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert command.EXAMPLE.strip() in out and "--config-file FILENAME" in out
    examples = [line.strip() for line in command.EXAMPLE.splitlines() if line.strip().startswith("mkdocs-aigen ")]
    assert examples
    for line in examples:  # each example is a command line the parser accepts
        args = build_parser().parse_args(shlex.split(line, comments=True)[1:])
        assert args.command == command.NAME
    subparser = next(a for a in build_parser()._subparsers._group_actions).choices[command.NAME]
    assert [a.dest for a in subparser._actions if not a.help] == []


@pytest.mark.parametrize("config, message", [
    (None, "nowhere.yml: no such file; pass the site's config with -f"),
    ("site_name: s\nplugins: [aigen: {generate: sometimes}]\n",
     "mkdocs.yml: plugins.aigen.generate: Expected one of: ('auto', 'cache-only', 'off') but received: 'sometimes'"),
    ("site_name: s\nplugins:\n  - aigen:\n      batch_size: 0\n", "mkdocs.yml: plugins.aigen.batch_size: must be >= 1"),
    ("INHERIT: base.yml\nsite_name: s\n", "mkdocs.yml: Inherited config file 'base.yml' does not exist at"),
])
def test_bad_config_is_one_line_exit_2(tmp_path: Path, config: str | None, message: str):
    if config is not None:
        write_config(tmp_path, config)
    result = mkdocs_aigen(tmp_path, "status", "-f", "nowhere.yml" if config is None else "mkdocs.yml")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"mkdocs-aigen status: error: {message}")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_env_tags_are_read_by_mkdocs(tmp_path: Path, monkeypatch):
    config = write_config(tmp_path, "site_name: s\nplugins:\n  - aigen:\n      generate: !ENV [AIGEN_GENERATE, auto]\n"
                                    "      model: !ENV [AIGEN_MODEL]\n      cache_dir: !ENV AIGEN_CACHE_DIR\n")
    monkeypatch.delenv("AIGEN_MODEL", raising=False)
    monkeypatch.setenv("AIGEN_GENERATE", "cache-only")
    monkeypatch.setenv("AIGEN_CACHE_DIR", "drafts")
    settings = load_settings(config)
    assert settings.generate == "cache-only" and settings.model is None
    assert settings.cache_dir == (tmp_path / "drafts").resolve()


def test_defaults_when_the_site_lists_no_aigen_and_config_from_stdin(tmp_path: Path, monkeypatch):
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"site_name: s\ndocs_dir: docs\n")))
    settings = load_settings("-")
    assert (settings.generate, settings.device, settings.docs_dir) == ("auto", None, (tmp_path / "docs").resolve())


@pytest.mark.parametrize("flag, device", [("auto", "cpu"), ("cuda", "cuda")])
def test_device_flag_overrides_the_config(tmp_path: Path, flag: str, device: str):
    config = write_config(tmp_path, "site_name: s\nplugins:\n  - aigen:\n      device: cpu\n")
    args = build_parser().parse_args(["status", "-f", str(config), "--device", flag, "--no-progress"])
    assert settings_for(args).device == device and args.progress is False


@pytest.mark.parametrize("flags, shown", [((), True), (("-q",), False)])
def test_quiet_silences_warnings_and_the_mkdocs_logger_is_restored(tmp_path: Path, capsys, flags, shown: bool):
    config = write_config(tmp_path, "site_name: s\nplugins:\n  - aigen:\n      generate: off\n")
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n## Usage\n\nRun it.\n", encoding="utf-8")
    (tmp_path / ".aigen" / "feedback").mkdir(parents=True)
    (tmp_path / ".aigen" / "feedback" / "broken.json").write_text("{not json", encoding="utf-8")
    logger = logging.getLogger("mkdocs")
    before = (logger.handlers[:], logger.propagate, logger.level)
    assert main(["corpus", "-f", str(config), *flags]) == 0
    err = capsys.readouterr().err
    assert ("WARNING -  aigen: " in err and "broken.json: unreadable feedback record skipped" in err) == shown
    assert (logger.handlers, logger.propagate, logger.level) == before
