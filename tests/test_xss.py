"""Hostile markup through every channel that reaches HTML: the built site, parsed with an HTML parser,
holds no script/iframe/object/embed element of ours, no ``on*`` attribute, no ``javascript:``/``data:`` URL."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_build import mkdocs_build

from mkdocs_aigen.drafting.frontmatter import parse_stub_spec
from mkdocs_aigen.drafting.stubs import discover
from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.markers import SOURCE_END as END
from mkdocs_aigen.markers import begin_marker
from mkdocs_aigen.project import Project
from mkdocs_aigen.settings import PACKAGED_MODEL, Settings

pytestmark = pytest.mark.build

PAYLOADS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<ScRiPt>alert(2)</sCrIpT>",
    "<script/xss>alert(3)</script>", "<<script>alert(4)//<</script>", "<img src=x onerror=alert(5)>",
    "<IMG SRC=x OnErRoR=alert(6)>", "<img src=\"javascript:alert(7)\">", "<img src=`x`onerror=alert(8)>",
    "<svg onload=alert(9)>", "<svg><script>alert(10)</script></svg>", "<svg><a xlink:href=\"javascript:alert(11)\">x</a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(12)>", "<math href=\"javascript:alert(13)\">x</math>",
    "<iframe src=//evil.example></iframe>", "<IFRAME SRCDOC=\"<script>alert(14)</script>\">",
    "<object data=x.swf></object>", "<embed src=x.swf>", "<body onload=alert(15)>", "<div onmouseover=alert(16)>x</div>",
    "<a href=\"javascript:alert(17)\">a</a>", "<a href=\"JaVaScRiPt:alert(18)\">a</a>",
    "<a href=\"java&#x09;script:alert(19)\">a</a>", "<a href=\"&#106;avascript:alert(20)\">a</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">a</a>",
    "<a href=\" javascript:alert(21)\">a</a>", "<a href=\"vbscript:msgbox(22)\">a</a>",
    "[link](javascript:alert(23))", "[link](JAVASCRIPT:alert(24))", "[link](data:text/html,<script>alert(25)</script>)",
    "![img](javascript:alert(26))", "![img](data:image/svg+xml,<svg onload=alert(27)>)",
    "[x](http://a.example){ onclick=\"alert(28)\" }", "[x](http://a.example){: onmouseover=\"alert(29)\" }",
    "Paragraph\n{: onclick=\"alert(30)\" }", "## Heading { onclick=alert(31) }",
    "[r][ref32]\n\n[ref32]: javascript:alert(32)", "[r33]\n\n[r33]: data:text/html,alert(33)",
    "[r34]\n\n   [r34]: JavaScript:alert(34) \"title\"",
    "<!-- /aigen:draft --><img src=x onerror=alert(35)>", "<!-- /aigen:draft -->\n\n<script>alert(36)</script>",
    "<!-- aigen:draft section=\"x\" digest=\"y\" --><img src=x onerror=alert(37)>",
    "<!-- /aigen:draft -->\n<!-- aigen:draft section=\"z\" digest=\"z\" -->\n<svg onload=alert(38)>",
    "--><script>alert(39)</script>", "<!--><img src=x onerror=alert(40)>-->",
    "&lt;script&gt;alert(41)&lt;/script&gt;", "&#60;script&#62;alert(42)&#60;/script&#62;",
    "<details open ontoggle=alert(43)>", "<video><source onerror=alert(44)></video>", "<audio src=x onerror=alert(45)>",
    "<input autofocus onfocus=alert(46)>", "<form action=javascript:alert(47)><button>x</button></form>",
    "<button formaction=javascript:alert(48)>x</button>", "<isindex action=javascript:alert(49)>",
    "<base href=javascript:alert(50)//>", "<link rel=stylesheet href=javascript:alert(51)>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(52)\">", "<style>@import 'javascript:alert(53)'</style>",
    "<div style=\"background:url(javascript:alert(54))\">x</div>", "<table background=javascript:alert(55)>",
    "<marquee onstart=alert(56)>", "<select onchange=alert(57)>", "<textarea onfocus=alert(58)>",
    "<keygen onfocus=alert(59)>", "<applet code=x>", "<frameset onload=alert(60)>", "<noscript><p title=\"</noscript><img src=x onerror=alert(61)>\">",
    "<a href=\"https://ok.example\" onclick=\"alert(62)\">ok</a>", "<img srcset=\"javascript:alert(63) 1x\">",
    "<area href=javascript:alert(64)>", "<scr<script>ipt>alert(65)</script>", "\"><script>alert(66)</script>",
    "'><img src=x onerror=alert(67)>", "`<script>alert(68)</script>`", "```html\n<script>alert(69)</script>\n```",
    "<template><script>alert(70)</script></template>", "<plaintext><script>alert(71)</script>",
    "<xmp><script>alert(72)</script></xmp>", "<svg><animate onbegin=alert(73) attributeName=x>",
    "<object data=\"data:text/html,<script>alert(74)</script>\"></object>", "<embed src=\"javascript:alert(75)\">",
]
BAD_ELEMENTS = {"script", "iframe", "object", "embed", "frame", "frameset", "applet"}
CHUNKS = 5
CODE_CHECK_PAYLOAD = 'raise SystemExit("<script>alert(90)</script><img src=x onerror=alert(91)>")'


class _Findings(HTMLParser):
    """Elements, attributes and URLs in a page that could run script."""

    def __init__(self, theme_scripts: set[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.theme_scripts, self.found, self.inline = theme_scripts, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and self._theme_script(attrs):
            self.inline = ""
        elif tag in BAD_ELEMENTS:
            self.found.append(f"<{tag} {attrs}>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            url = "".join((value or "").split()).lower()
            if url.startswith(("javascript:", "data:", "vbscript:")) or "javascript:" in url and name in ("srcset", "style", "content"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self.inline is not None:
            self.inline += data

    def handle_endtag(self, tag):
        if tag == "script" and self.inline is not None:
            if "alert(" in self.inline:
                self.found.append(f"inline script {self.inline[:60]!r}")
            self.inline = None

    def _theme_script(self, attrs: dict) -> bool:
        """A script file the theme loads, or an inline script (flagged when it holds a payload's call)."""
        src = attrs.get("src")
        return src is None or src.split("/")[-1] in self.theme_scripts


def findings(html: str, theme_scripts: set[str]) -> list[str]:
    parser = _Findings(theme_scripts)
    parser.feed(html)
    return parser.found


def test_parser_finds_what_it_looks_for():
    """The checker itself is not blind: most payloads, as raw HTML, are flagged (the rest are Markdown)."""
    flagged = [payload for payload in PAYLOADS if findings(payload, set())]
    assert len(PAYLOADS) >= 70 and len(flagged) >= 50


def _front_matter(title: str, topic: str, sections: list[str], extra: str = "") -> str:
    lines = [f"title: {json.dumps(title)}", *([extra] if extra else []), "aigen:", f"  topic: {json.dumps(topic)}",
             f"  notes: {json.dumps(topic)}", "  code: none", f"  sections: {json.dumps(sections)}"]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _valid_sections(payload: str, fallback: str) -> list[str]:
    try:
        parse_stub_spec({"aigen": {"topic": "T", "sections": [payload]}}, "x.md", ["how-to"])
        return [payload]
    except FrontMatterError:
        return [fallback]


def _chunks(payloads: list[str] = PAYLOADS) -> list[str]:
    size = -(-len(payloads) // CHUNKS)
    return ["\n\n".join(payloads[i:i + size]) for i in range(0, len(payloads), size)]


SOURCE_PAYLOADS = [p for p in PAYLOADS if "<!-- aigen:draft" not in p]
"""In a source file markers are the author's syntax: a begin marker written there by hand opens a
region (what follows it is sanitized); a hand-written end marker cannot close one early."""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """One site: cached drafts, source drafts, front-matter payloads, a code check, a blog post; no model runs."""
    root = tmp_path_factory.mktemp("xss")
    docs = root / "docs"
    (docs / "blog" / "posts").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nAuthored.\n")
    (docs / "blog" / "index.md").write_text("# Blog\n")
    sections = [f"Part {i}" for i in range(CHUNKS)]
    (docs / "cached.md").write_text(_front_matter("Cached", "Cached drafts", sections) + "# Cached\n")
    (docs / "blog" / "posts" / "post.md").write_text(
        "---\ndate: 2026-02-01\ncategories: [News]\naigen:\n  topic: Release\n  kind: blog-post\n  code: none\n"
        f"  sections: {json.dumps(sections)}\n---\n# Post\n")
    regions = "\n\n".join(f"{begin_marker(section=f'part-{i}', digest='sha256:0')}\n## Part {i}\n\n{chunk}\n{END}"
                          for i, chunk in enumerate(_chunks(SOURCE_PAYLOADS)))
    code = f"{begin_marker(section='example', digest='sha256:0')}\n## Example\n\n```python\n{CODE_CHECK_PAYLOAD}\n```\n{END}"
    (docs / "source.md").write_text(_front_matter("Source", "Source drafts", [*sections, "Example"])
                                    + f"# Source\n\n{regions}\n\n{code}\n")
    for i, payload in enumerate(PAYLOADS):
        (docs / f"fm-{i}.md").write_text(_front_matter(payload, payload, _valid_sections(payload, f"Plain {i}"))
                                         + "# Front-matter\n")
    options = {"model": str(PACKAGED_MODEL), "generate": "cache-only", "verify_code": "run"}
    (root / "mkdocs.yml").write_text(
        "site_name: xss\ntheme:\n  name: material\nmarkdown_extensions:\n  - admonition\n  - attr_list\n"
        "  - toc:\n      permalink: true\n  - tables\n  - fenced_code\nplugins:\n  - search\n  - blog\n"
        f"  - aigen:\n      model: {PACKAGED_MODEL}\n      generate: cache-only\n      verify_code: run\n")
    project = Project(Settings.load(options, root, docs))
    pages, errors = discover(docs, project.kinds, ["cached.md", "blog/posts/post.md"])
    assert not errors and len(pages) == 2
    for job in project.jobs(pages):
        chunk = _chunks()[int(job.heading.split()[-1])]
        project.cache.put(project.drafter.key(job), {
            "text": f"## {job.heading}\n\n{chunk}", "page": job.page, "section": job.heading,
            "code": [{"status": "invalid", "language": "python", "attempts": 1,
                      "error": "SystemExit: <script>alert(92)</script><img src=x onerror=alert(93)>"}],
            "tokens": 0})
    result = mkdocs_build(root / "mkdocs.yml")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return root


def _theme_scripts(site_dir: Path) -> set[str]:
    """Script files the theme itself loads on a page with no payload."""
    home = (site_dir / "index.html").read_text()
    return {src.split("/")[-1] for src in re.findall(r'<script[^>]* src="([^"]+)"', home)}


def test_no_payload_runs_anywhere(site):
    out = site / "site"
    theme = _theme_scripts(out)
    pages = sorted(out.rglob("*.html"))
    bad = {str(p.relative_to(out)): f for p in pages if (f := findings(p.read_text(encoding="utf-8"), theme))}
    assert not bad
    assert len(pages) > len(PAYLOADS)


def test_every_channel_was_exercised(site):
    out = site / "site"
    cached = (out / "cached" / "index.html").read_text()
    assert cached.count('data-aigen-fill="cache"') == CHUNKS and "alert(41)" in cached  # payload text shown, inert
    assert "aigen-banner" in cached and "aigen-code-error" in cached and "alert(92)" in cached
    source = (out / "source" / "index.html").read_text()
    marked = re.findall(r'<div class="aigen-draft" data-aigen-status="edited" data-aigen-section="([^"]+)"', source)
    assert set(marked) == {f"part-{i}" for i in range(CHUNKS)} | {"example"}  # (an unclosed <textarea> hides a heading)
    blog_views = [out / "blog" / "index.html", *(out / "blog" / "archive").rglob("index.html"),
                  *(out / "blog" / "category").rglob("index.html")]
    assert len(blog_views) >= 3
    for view in blog_views:  # excerpts are marked like the post
        html = view.read_text()
        assert html.count('class="aigen-draft"') == CHUNKS and "aigen:draft" not in html, view
    review = (out / "aigen" / "review" / "index.html").read_text()
    assert "alert(1)" in review and "alert(92)" in review  # topics, headings and check messages, escaped
    fm = (out / "fm-0" / "index.html").read_text()
    assert "data-aigen-fill=\"placeholder\"" in fm
