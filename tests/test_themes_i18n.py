"""Review marks with the material, mkdocs and readthedocs themes, in the site's language, and the
review queue (search, publishing, banner placement): real MkDocs builds, no model (drafts in sources)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mkdocs_aigen.errors import SettingsError
from mkdocs_aigen.labels import KEYS, LANGUAGES, MESSAGES, Labels, catalog_language
from mkdocs_aigen.markers import wrap
from mkdocs_aigen.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CSS = REPO / "mkdocs_aigen" / "assets" / "aigen.css"
INVALID = "## Example\n\nCall it:\n\n```python\ndef broken(:\n```"


def write_theme_site(root: Path, theme: str, *, aigen: str = "", drafts: bool = True) -> Path:
    """A site whose stub holds a drafted, an edited and an invalid-code draft (no model needed)."""
    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nWelcome.\n")
    body = "# Caching guide\n\nIntro by the author.\n\n"
    if drafts:
        edited = wrap("## Steps\n\nSet `cache_dir`.", "steps").replace("Set `cache_dir`.", "Set `cache_dir` (mine).")
        body += "\n\n".join([wrap("## Overview\n\nWidgets caches renders.", "overview"), edited,
                             wrap(INVALID, "example")]) + "\n"
    (docs / "guide.md").write_text("---\ntitle: Caching guide\naigen:\n  topic: How widgets caches renders\n"
                                   "  kind: how-to\n  code: python\n---\n" + body)
    config = root / "mkdocs.yml"
    config.write_text(f"site_name: widgets\n{theme}\nmarkdown_extensions:\n  - admonition\n  - fenced_code\n"
                      f"plugins:\n  - search\n  - aigen:\n      generate: 'off'\n{aigen}")
    return config


def mkdocs_build(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], capture_output=True,
                          text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def page(root: Path, name: str = "guide") -> str:
    return (root / "site" / name / "index.html").read_text(encoding="utf-8")


# --- The stylesheet: rules that apply outside Material's .md-typeset ---------------------------


def css_rules() -> dict[str, str]:
    """Each selector of aigen.css (selector lists split) -> its declarations."""
    text = re.sub(r"/\*.*?\*/", "", CSS.read_text(encoding="utf-8"), flags=re.S)
    rules = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        for selector in selectors.split(","):
            rules[" ".join(selector.split())] = body
    return rules


@pytest.mark.parametrize("selector, declaration", [
    (".aigen-draft", "border-left"),
    ('.aigen-draft[data-aigen-status="edited"]', "border-left-color"),
    (".aigen-draft-label", "text-transform"),
    ('.aigen-draft[data-aigen-code="invalid"] pre', "outline"),
    (".aigen-code-error", "color"),
    (":where(.aigen-banner)", "border-left"),
])
def test_marks_are_styled_outside_md_typeset(selector, declaration):
    rules = css_rules()
    assert selector in rules and declaration in rules[selector]
    assert f".md-typeset {selector}" in rules or selector.startswith(":where")  # Material's specificity too


# --- Three themes -------------------------------------------------------------------------------

THEMES = {
    "material": "theme:\n  name: material",
    "mkdocs": "theme:\n  name: mkdocs",
    "readthedocs": "theme:\n  name: readthedocs",
}


@pytest.mark.build
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_each_theme_shows_drafts_marked_and_styled(tmp_path, theme):
    config = write_theme_site(tmp_path, THEMES[theme])
    result = mkdocs_build(config)
    assert result.returncode == 0, result.stderr
    html = page(tmp_path)
    assert re.findall(r'<div class="aigen-draft" data-aigen-status="(\w+)"', html) == ["drafted", "edited", "drafted"]
    assert html.count('class="aigen-draft-label"') == 3 and 'data-aigen-code="invalid"' in html
    assert "Code sample (python) failed its check" in html
    assert "aigen-banner" in html and "assets/aigen/aigen.css" in html
    assert "aigen:draft" not in html and "sha256:" not in html and "mkdocs-aigen)" not in html  # no marker, no note
    assert (tmp_path / "site" / "assets" / "aigen" / "aigen.css").read_bytes() == CSS.read_bytes()
    if theme == "material":
        assert "md-status--aigen-draft" in html  # Material's page status icon


@pytest.mark.build
def test_banner_follows_the_title_and_queue_is_not_searchable(tmp_path):
    config = write_theme_site(tmp_path, THEMES["material"])
    assert mkdocs_build(config).returncode == 0
    html = page(tmp_path)
    assert html.index('id="caching-guide"') < html.index("aigen-banner") < html.index("Intro by the author")
    queue = page(tmp_path, "aigen/review")
    assert "Review queue" in queue and "guide.md" not in queue  # linked as the built page
    index = json.loads((tmp_path / "site" / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = [doc["location"] for doc in index["docs"]]
    assert any(loc.startswith("guide/") for loc in locations)
    assert not any(loc.startswith("aigen/") for loc in locations)


@pytest.mark.build
def test_queue_is_not_published_when_nothing_awaits_review(tmp_path):
    config = write_theme_site(tmp_path, THEMES["mkdocs"], drafts=False)
    (tmp_path / "docs" / "guide.md").write_text(
        (tmp_path / "docs" / "guide.md").read_text() + "\n## Overview\n\nAll mine.\n")
    result = mkdocs_build(config)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "site" / "aigen").exists()
    assert [line for line in result.stderr.splitlines() if "review queue" in line] == [
        "INFO    -  aigen: review queue (aigen/review.md) not published: nothing awaits review"]


# --- Languages ----------------------------------------------------------------------------------


@pytest.mark.build
@pytest.mark.parametrize("language, theme", [("zh", "theme:\n  name: material\n  language: zh"),
                                             ("de", "theme:\n  name: mkdocs\n  locale: de")])
def test_labels_follow_the_theme_language(tmp_path, language, theme):
    config = write_theme_site(tmp_path, theme)
    assert mkdocs_build(config).returncode == 0
    html, queue, messages = page(tmp_path), page(tmp_path, "aigen/review"), MESSAGES[language]
    for key in ("banner_title", "label_drafted", "label_edited", "banner_link"):
        assert messages[key] in html, key
    assert f'title="{messages["label_drafted"]}"' in html
    assert MESSAGES["en"]["banner_title"] not in html and MESSAGES["en"]["label_drafted"] not in html
    assert messages["queue_title"] in queue and messages["queue_section"] in queue


@pytest.mark.build
def test_a_site_overrides_any_label(tmp_path):
    config = write_theme_site(tmp_path, "theme:\n  name: material\n  language: de",
                              aigen="      labels:\n        banner_title: Entwurf – bitte prüfen\n")
    assert mkdocs_build(config).returncode == 0
    html = page(tmp_path)
    assert "Entwurf – bitte prüfen" in html and MESSAGES["de"]["banner_title"] not in html
    assert MESSAGES["de"]["label_drafted"] in html  # the others stay in the site's language


def test_catalog_is_complete_and_falls_back_to_english(tmp_path):
    assert set(LANGUAGES) >= {"en", "zh", "de", "fr", "es", "ja"}
    for language, messages in MESSAGES.items():
        assert tuple(messages) == KEYS, language
        for key, text in messages.items():
            placeholders = set(re.findall(r"\{(\w+)\}", text))
            assert placeholders == set(re.findall(r"\{(\w+)\}", MESSAGES["en"][key])), (language, key)
    assert catalog_language("pt_BR") == "en" and catalog_language("zh_CN") == "zh" and catalog_language(None) == "en"
    assert Labels("de-AT")["banner_title"] == MESSAGES["de"]["banner_title"]
    assert Labels("de").for_language("ja")["queue_title"] == MESSAGES["ja"]["queue_title"]


@pytest.mark.parametrize("labels, message", [
    ({"banner_titel": "x"}, "plugins.aigen.labels.banner_titel: unknown label; known: banner_title"),
    ({"banner_title": ""}, "plugins.aigen.labels.banner_title: expected non-empty text"),
    ({"banner_text": "{counts}"}, "plugins.aigen.labels.banner_text: bad placeholder"),
])
def test_bad_labels_are_one_line_errors_naming_the_key(tmp_path, labels, message):
    with pytest.raises(SettingsError) as error:
        Settings.load({"labels": labels}, tmp_path, tmp_path / "docs")
    assert str(error.value).startswith(f"mkdocs.yml: {message}") and "\n" not in str(error.value)
