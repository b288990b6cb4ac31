"""Checking drafted code samples and finding them in Markdown."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkdocs_aigen.checks import code as codecheck
from mkdocs_aigen.checks.code import VERIFY_MODES, CodeCheck, check_code
from mkdocs_aigen.markdown import FencedBlock, iter_fenced_blocks

GOOD = [
    ("python", "def greet(name):\n    return f'hi {name}'\n"),
    ("py", "import json\nprint(json.dumps({'a': 1}))\n"),
    ("pycon", ">>> x = 2\n>>> for i in range(x):\n...     print(i)\n...\n0\n1\n"),
    ("json", '{"name": "aigen", "tags": [1, 2]}'),
    ("yaml", "site_name: Demo\nnav:\n  - Home: index.md\n"),
    ("yml", "emoji_index: !!python/name:material.extensions.emoji.twemoji\ntoken: !ENV TOKEN\n"),
    ("toml", '[project]\nname = "demo"\nversion = "1.0"\n'),
    ("bash", 'for f in *.md; do\n  echo "$f"\ndone\n'),
    ("sh", "export A=1 && echo $A\n"),
    ("console", "$ pip install mkdocs-aigen\nCollecting mkdocs-aigen\n$ mkdocs build \\\n    --strict\nINFO - done\n"),
]

BAD = [
    ("python", "def greet(name)\n    return name\n", "SyntaxError: expected ':' (line 1)"),
    ("python", "x = 1\n  y = 2\n", "IndentationError: unexpected indent (line 2)"),
    ("python3", "print('a')\nreturn 3\n", "SyntaxError: 'return' outside function (line 2)"),
    ("pycon", ">>> x = 1\n>>> x\n1\n>>> def f(:\n", "SyntaxError: invalid syntax (line 4)"),
    ("pycon", "x = 1\n", "pycon sample has no >>> prompt"),
    ("json", '{"a": 1,}', "JSONDecodeError: Expecting property name enclosed in double quotes (line 1, column 9)"),
    ("yaml", "a: 1\n b: 2\n", "YAMLError: mapping values are not allowed here (line 2)"),
    ("toml", "name = \n", "TOMLDecodeError: Invalid value (at line 1, column 8)"),
    ("bash", "if true; then\n  echo hi\n", "bash: syntax error: unexpected end of file (line 3)"),
    ("console", "$ echo hi\nhi\n$ if true; then\n", "bash: syntax error: unexpected end of file (line 4)"),
]


@pytest.mark.parametrize(("language", "code"), GOOD)
def test_good_samples_pass(language, code):
    assert check_code(language, code) == CodeCheck("ok", None, language)


@pytest.mark.parametrize(("language", "code", "error"), BAD)
def test_bad_samples_fail_with_one_line_error(language, code, error):
    assert check_code(language, code) == CodeCheck("invalid", error, language)


def test_language_is_case_insensitive():
    assert check_code(" Python ", "x = (\n").status == "invalid"
    assert check_code("JSON", "[1]").language == "json"


def test_unknown_language_is_unchecked():
    assert check_code("rust", "fn main() {") == CodeCheck("unchecked", None, "rust")


def test_console_without_prompts_is_unchecked():
    assert check_code("console", "Collecting x\n((( not shell").status == "unchecked"


def test_empty_sample_is_invalid():
    assert check_code("python", "  \n\n") == CodeCheck("invalid", "empty sample", "python")
    assert check_code("text", "").status == "invalid"


def test_mode_off_checks_nothing():
    assert check_code("python", "def (", mode="off").status == "unchecked"
    assert check_code("json", "", mode="off").status == "unchecked"


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="off, syntax, run, import"):
        check_code("python", "x = 1", mode="exec")
    assert VERIFY_MODES == ("off", "syntax", "run", "import")


def test_syntax_mode_does_not_execute(tmp_path):
    marker = tmp_path / "ran"
    assert check_code("python", f"open({str(marker)!r}, 'w')\n").status == "ok"
    assert not marker.exists()


# ---------------------------------------------------------------- run mode


@pytest.mark.build
def test_run_mode_accepts_working_code():
    assert check_code("python", "print(sum(range(4)))\n", mode="run").status == "ok"


@pytest.mark.build
def test_run_mode_reports_the_failing_line():
    result = check_code("python", "total = 0\nprint(totl)\n", mode="run")
    assert result == CodeCheck("invalid", "NameError: name 'totl' is not defined (line 2)", "python")


@pytest.mark.build
def test_run_mode_checks_syntax_before_running():
    assert check_code("python", "print(1\n", mode="run").error == "SyntaxError: '(' was never closed (line 1)"


@pytest.mark.build
def test_run_mode_marks_sandbox_blocked_samples_unchecked():
    result = check_code("python", "import urllib.request\nurllib.request.urlopen('http://example.com')\n", mode="run")
    assert result.status == "unchecked"
    assert "sandbox blocked socket." in result.error


@pytest.mark.build
def test_run_mode_times_out(monkeypatch):
    monkeypatch.setattr(codecheck, "RUN_TIMEOUT_S", 1.0)
    assert check_code("python", "while True:\n    pass\n", mode="run") == CodeCheck(
        "invalid", "Timeout: still running after 1s", "python"
    )


# ---------------------------------------------------------------- import mode


@pytest.mark.parametrize(
    "code",
    [
        "from json import dumps, loads\n",
        "import json.decoder\nprint(json.decoder.JSONDecoder)\n",
        "from json.decoder import JSONDecoder as Decoder\n",
        "import json as j\nj.dumps({})\n",
        "from os import not_a_real_name\n",  # other packages are not checked
        "import json\njson = {'shadowed': True}\njson.anything\n",  # rebound name: not the package
    ],
)
@pytest.mark.build
def test_import_mode_accepts_real_api(code):
    assert check_code("python", code, mode="import", package="json").status == "ok"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("from json import dumps, dumps_fancy\n", "AttributeError: 'json' has no attribute 'dumps_fancy' (line 1)"),
        (
            "x = 1\nfrom json.decoder import JSONDecoderFancy\n",
            "AttributeError: 'json.decoder' has no attribute 'JSONDecoderFancy' (line 2)",
        ),
        ("import json.fancy\n", "ModuleNotFoundError: No module named 'json.fancy' (line 1)"),
        ("import json\n\nprint(json.dumps_pretty({}))\n", "AttributeError: 'json' has no attribute 'dumps_pretty' (line 3)"),
        (">>> import json\n>>> json.loadz('1')\n", "AttributeError: 'json' has no attribute 'loadz' (line 2)"),
    ],
)
@pytest.mark.build
def test_import_mode_catches_invented_api(code, error):
    language = "pycon" if code.startswith(">>>") else "python"
    assert check_code(language, code, mode="import", package="json") == CodeCheck("invalid", error, language)


@pytest.mark.build
def test_import_mode_without_package_is_syntax_only():
    assert check_code("python", "from json import dumps_fancy\n", mode="import").status == "ok"


@pytest.mark.build
def test_import_mode_with_unimportable_package_is_unchecked():
    result = check_code("python", "import no_such_pkg_xyz.api\n", mode="import", package="no_such_pkg_xyz")
    assert result.status == "unchecked"
    assert "cannot import documented package 'no_such_pkg_xyz'" in result.error


@pytest.mark.build
def test_import_mode_resolves_out_of_process(tmp_path, monkeypatch):
    package = tmp_path / "noisy_pkg_for_aigen"
    package.mkdir()
    (package / "__init__.py").write_text("import os\nos.environ['AIGEN_IMPORTED'] = '1'\nvalue = 1\n")
    tmp_path.chmod(0o755)  # the sandbox imports as an unprivileged user
    monkeypatch.syspath_prepend(str(tmp_path))
    result = check_code("python", "from noisy_pkg_for_aigen import value\n", mode="import", package="noisy_pkg_for_aigen")
    assert result.status == "ok"
    assert "noisy_pkg_for_aigen" not in sys.modules
    assert "AIGEN_IMPORTED" not in os.environ


# ---------------------------------------------------------------- fenced blocks


def test_finds_backtick_and_tilde_fences_with_offsets():
    markdown = 'Intro\n\n```python title="x.py"\nprint(1)\n```\n\n~~~~ yaml\na: 1\n~~~\nb: 2\n~~~~\nEnd\n'
    blocks = iter_fenced_blocks(markdown)
    assert [(b.language, b.code) for b in blocks] == [("python", "print(1)\n"), ("yaml", "a: 1\n~~~\nb: 2\n")]
    assert markdown[blocks[0].start : blocks[0].end] == '```python title="x.py"\nprint(1)\n```'
    assert markdown[blocks[1].start : blocks[1].end].endswith("b: 2\n~~~~")
    assert all(block.closed for block in blocks)


def test_attribute_info_strings_and_indentation():
    markdown = "  ``` { .python .annotate }\n  x = 1\n    y = 2\n  ```\n"
    assert iter_fenced_blocks(markdown) == [FencedBlock("python", "x = 1\n  y = 2\n", 0, len(markdown) - 1)]


def test_four_space_indent_and_backticks_in_info_are_not_fences():
    assert iter_fenced_blocks("    ```python\n    x\n    ```\n") == []
    assert iter_fenced_blocks("``` a`b\nnot code\n```\n")[0].language == ""  # the second ``` opens


def test_closer_must_be_as_long_as_the_opener():
    markdown = "````md\n```python\nx\n```\n````\n"
    assert iter_fenced_blocks(markdown) == [FencedBlock("md", "```python\nx\n```\n", 0, len(markdown) - 1)]


def test_unclosed_fence_runs_to_the_end_and_crlf_is_normalised():
    markdown = "text\r\n```bash\r\necho hi\r\n"
    assert iter_fenced_blocks(markdown) == [FencedBlock("bash", "echo hi\n", 6, len(markdown), closed=False)]


_code_line = st.text(st.characters(blacklist_characters="`~\n\r", blacklist_categories=("Cs",)), max_size=20)


@given(st.lists(_code_line, max_size=6), st.sampled_from(["```", "~~~", "`````"]), st.sampled_from(["", " ", "   "]))
def test_fenced_code_round_trips(lines, fence, indent):
    code = "".join(line + "\n" for line in lines)
    fenced = f"{indent}{fence}python\n" + "".join(indent + line + "\n" for line in lines) + f"{indent}{fence}"
    markdown = f"Before\n\n{fenced}\n\nAfter\n"
    [block] = iter_fenced_blocks(markdown)
    assert (block.language, block.code) == ("python", code)
    assert markdown[block.start : block.end] == fenced
