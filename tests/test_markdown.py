"""The Markdown reader (markdown-it based) and the line predicates the decode loop uses instead."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import write_site
from hypothesis import given
from hypothesis import strategies as st

from mkdocs_aigen.drafting.engine import clean_prose
from mkdocs_aigen.drafting.frontmatter import split_front_matter
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import compose, load_stub
from mkdocs_aigen.markdown import (
    FencedBlock,
    LineTracker,
    atx_level,
    closes_fence,
    fence_opener,
    first_heading,
    iter_fenced_blocks,
    iter_headings,
    next_fence,
    setext_level,
    split_sections,
)
from mkdocs_aigen.ml.stops import open_fence, truncate_at_heading


def headings(text: str) -> list[tuple[int, str]]:
    return [(h.level, h.title) for h in iter_headings(text)]


# ---------------------------------------------------------------- headings


def test_atx_headings():
    text = "# One\n## Two ##\n   ### Three\n#\n#hashtag\n####### seven\n    ## code\nText ## inline\n"
    assert headings(text) == [(1, "One"), (2, "Two"), (3, "Three"), (1, "")]


def test_setext_headings_start_at_their_text_and_end_after_the_underline():
    text = "Intro.\n\nOverview\n--------\n\nBody.\n\nTitle\n===\nTwo lines\nof title\n---\n"
    found = list(iter_headings(text))
    assert [(h.level, h.title) for h in found] == [(2, "Overview"), (1, "Title"), (2, "Two lines of title")]
    assert text[found[0].start : found[0].end] == "Overview\n--------\n"
    assert text[found[2].start : found[2].end] == "Two lines\nof title\n---\n"
    assert headings("Text\n\n---\n") == []  # after a blank line --- is a thematic break


def test_headings_inside_code_html_lists_and_quotes_are_not_headings():
    text = (
        "```\n# in backticks\n```\n~~~~ md\n## in tildes\n```\n### still tildes\n~~~~\n\n"
        "    # indented code\n\n<div>\n## in html\n</div>\n\n- ## in a list\n\n> ## in a quote\n\n## Real\n"
    )
    assert headings(text) == [(2, "Real")]


def test_front_matter_is_skipped_and_offsets_index_the_whole_text():
    text = "---\ntitle: T\n# a yaml comment\n---\n# Page\n\n## Part\n"
    found = list(iter_headings(text))
    assert [(h.level, h.title) for h in found] == [(1, "Page"), (2, "Part")]
    assert text[found[1].start :] == "## Part\n"
    assert first_heading(text) == "Page" and first_heading("No heading.\n") is None


def test_crlf_and_bom_offsets_round_trip_byte_exact():
    text = "\ufeff# Title\r\n\r\nIntro\r\n\r\nSetext\r\n------\r\n\r\n```py\r\nx = 1\r\n```\r\n\r\n## Next\r\nEnd"
    found = list(iter_headings(text))
    assert [(h.level, h.title) for h in found] == [(1, "Title"), (2, "Setext"), (2, "Next")]
    assert [text[h.start : h.end] for h in found] == ["# Title\r\n", "Setext\r\n------\r\n", "## Next\r\n"]
    preamble_end, sections = split_sections(text)
    assert text[:preamble_end] + "".join(text[s.start : s.end] for s in sections) == text
    assert text[sections[0].start : sections[0].end] == "Setext\r\n------\r\n\r\n```py\r\nx = 1\r\n```\r\n\r\n"
    [block] = iter_fenced_blocks(text)
    assert text[block.start : block.end] == "```py\r\nx = 1\r\n```" and block.code == "x = 1\n"


def test_body_after_front_matter_matches_split_front_matter():
    text = "\ufeff---\r\naigen:\r\n  topic: T\r\n---\r\nOverview\r\n---\r\n"
    _, start = split_front_matter(text)
    [heading] = iter_headings(text)
    assert heading.start == start and text[heading.start : heading.end] == "Overview\r\n---\r\n"
    [section] = split_sections(text[start:])[1]
    assert section.heading == "Overview"


# ---------------------------------------------------------------- fenced blocks


def test_fences_of_both_kinds_with_hash_lines_inside():
    text = "```python\n# comment\nx = 1\n```\n\n~~~yaml\n# yaml comment\na: 1\n~~~\n"
    blocks = iter_fenced_blocks(text)
    assert [(b.language, b.code, b.closed) for b in blocks] == [
        ("python", "# comment\nx = 1\n", True), ("yaml", "# yaml comment\na: 1\n", True)]
    assert text[blocks[1].start : blocks[1].end] == "~~~yaml\n# yaml comment\na: 1\n~~~"


def test_unclosed_fence_runs_to_the_end_and_hides_later_headings():
    text = "Intro\n\n```bash\necho hi\n## not a heading"
    assert iter_fenced_blocks(text) == [FencedBlock("bash", "echo hi\n## not a heading\n", 7, len(text), False)]
    assert headings(text) == []


def test_info_strings_give_the_language():
    infos = {'python title="x.py"': "python", "{.python}": "python", "{ .yaml .annotate }": "yaml",
             'title="x"': "", "": "", "py{linenums}": "py", "sh`x": "sh`x"}
    for info, language in infos.items():
        fence = "~~~" if "`" in info else "```"
        assert iter_fenced_blocks(f"{fence}{info}\nx\n{fence}\n")[0].language == language, info


def test_fences_in_lists_and_quotes_are_found_with_their_code():
    text = "1. Install:\n\n   ```bash\n   pip install x\n   ```\n\n> ```py\n> y = 2\n> ```\n"
    assert [(b.language, b.code) for b in iter_fenced_blocks(text)] == [("bash", "pip install x\n"), ("py", "y = 2\n")]


def test_prose_is_read_from_its_start_not_as_a_page():
    prose = "---\n```\n---\nhidden if read as front-matter"
    assert iter_fenced_blocks(prose) == []  # a page: that is front-matter
    assert iter_fenced_blocks(prose, page=False)[0].start == 4
    assert clean_prose(prose) == "---"
    assert clean_prose("Intro <div>\n\n<div>\n```\nx\n</div>\n") == "Intro &lt;div>\n\n&lt;div>"


# ---------------------------------------------------------------- line predicates vs the reader


def test_line_predicates():
    assert fence_opener("   ````py") == "````" and fence_opener("    ```") is None and fence_opener("``` a`b") is None
    assert closes_fence("~~~~  ", "~~~") and not closes_fence("~~", "~~~") and not closes_fence("```py", "```")
    assert next_fence("```", None) == "```" and next_fence("```", "```") is None and next_fence("x", "~~~") == "~~~"
    assert [atx_level(line) for line in ("## a", "#", "#a", "####### a", "    # a", "##\r")] == [2, 1, None, None, None, 2]
    assert [setext_level(line) for line in ("===", "  -", "--- x", "- -", "----  \r")] == [1, 2, None, None, 2]


def tracker_headings(text: str) -> list[tuple[int, int]]:
    tracker, found, offset = LineTracker(), [], 0
    for line in text.split("\n"):
        heading = tracker.feed(line, offset)
        if heading is not None:
            found.append(heading)
        offset += len(line) + 1
    return found


# Documents start with a paragraph, so that a leading "---" block is no front-matter (which only pages have).
TOP_LEVEL_LINES = ["Text", "more text", "", "---", "===", "-", "***", "## H", "# T", "#### Deep", "```", "```py",
                   "~~~", "````", "    code", "  indented", "   ## three"]
CONTAINER_LINES = ["- item", "1. step", "2. step", "> quote", "* star", "+ plus", "-  ", "  - nested", "   text"]


@given(st.lists(st.sampled_from(TOP_LEVEL_LINES), max_size=12).map(lambda lines: "\n".join(["Start.", *lines])))
def test_line_tracker_agrees_with_the_reader(text: str):
    assert tracker_headings(text) == [(h.level, h.start) for h in iter_headings(text)]
    fences = iter_fenced_blocks(text)
    assert (open_fence(text) is not None) == bool(fences and not fences[-1].closed)


@given(st.lists(st.sampled_from(TOP_LEVEL_LINES + CONTAINER_LINES), max_size=12).map(
    lambda lines: "\n".join(["Start.", *lines])))
def test_line_tracker_never_stops_at_what_is_no_heading(text: str):
    assert set(tracker_headings(text)) <= {(h.level, h.start) for h in iter_headings(text)}


def test_truncate_at_heading_sees_setext_headings_once_the_underline_is_complete():
    assert truncate_at_heading("Intro.\n\nNext part\n---\nmore", 2) == "Intro.\n\n"
    assert truncate_at_heading("Intro.\n\nNext part\n-", 2) is None  # may still become "- item"
    assert truncate_at_heading("Intro.\n\nNext part\n===\n", 1) == "Intro.\n\n"
    assert truncate_at_heading("Intro.\n\n---\nrule, then text\n", 2) is None
    assert truncate_at_heading("- item\n---\n", 2) is None  # a list, then a thematic break
    assert truncate_at_heading("```\nText\n---\n```\n", 2) is None


# ---------------------------------------------------------------- stub pages


SETEXT_STUB = ("---\naigen:\n  topic: Caching\n  kind: how-to\n---\nCaching\n=======\n\n"
               "Overview\n--------\n\nAuthored overview.\n\n## Steps\n\nMine.\n")


def test_setext_overview_is_authored_and_not_drafted():
    page = load_stub("x.md", "x.md", KindLibrary(), text=SETEXT_STUB)
    assert page.missing() == ["Example", "Troubleshooting"]
    out = compose(page, {h: f"## {h}\n\nDraft of {h}." for h in page.outline})
    assert out.count("Overview") == 1 and "Draft of Overview" not in out
    assert out.index("Authored overview.") < out.index("## Steps") < out.index("Draft of Example")


@pytest.mark.build
def test_setext_overview_gets_no_placeholder_in_a_real_build(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, aigen="      generate: cache-only\n")
    (tmp_path / "docs" / "guide.md").write_text(SETEXT_STUB)
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], capture_output=True,
                            text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "guide" / "index.html").read_text()
    missing = re.findall(r'data-aigen-status="stub" data-aigen-fill="placeholder" data-aigen-section="([^"]+)"', html)
    assert missing == ["example", "troubleshooting"]
    assert html.count(">Overview<") == 1 and "Authored overview." in html
