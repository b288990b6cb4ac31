"""Rendered-page marking: draft regions become styled review elements; their HTML is sanitized."""

from __future__ import annotations

import html as htmlmod
import re
from typing import Callable

import nh3

from mkdocs_aigen.authoring.status import DRAFTED, EDITED, PLACEHOLDER, SectionReview
from mkdocs_aigen.labels import Labels
from mkdocs_aigen.markers import BEGIN, DraftRegion, find_regions, remove_markers
from mkdocs_aigen.plugin.sources import Citation, unlinked

_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"class", "id", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
"""Schemes a sanitized link or image may use; relative URLs are kept too."""
_MARKDOWN_PUNCTUATION = re.compile(r"[\\`*_{}\[\]()#+\-.!|~]")
_TITLE = re.compile(r"<h1\b[^>]*>.*?</h1>[ \t]*\n?", re.S)


def label(section: SectionReview, labels: Labels) -> str:
    """What the review mark of a section says."""
    if section.state == DRAFTED:
        return labels["label_drafted"]
    if section.state == EDITED:
        return labels["label_edited"]
    if section.fill == PLACEHOLDER:
        return labels["label_placeholder"]
    return labels["label_build"]


def sanitize(fragment: str) -> str:
    """The one sanitizer of HTML from drafts: strips anything that can run script (tags, event
    handlers, comments, URLs other than http(s), mailto and relative ones)."""
    return nh3.clean(fragment, attributes=_ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=None)


def markdown_text(text: str) -> str:
    """Plain text (a topic, title, heading or check message) as Markdown that renders as that text:
    one line, HTML escaped, Markdown punctuation backslash-escaped."""
    escaped = htmlmod.escape(" ".join(text.split()), quote=False)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", escaped)


def mark_drafts(content_html: str, sections: list[SectionReview], labels: Labels = Labels(),
                cite: Callable[[dict], Citation] = unlinked) -> str:
    """Replace each draft region of a page's (or excerpt's) content with a review element for its
    section, its HTML sanitized, listing the draft's sources as ``cite`` says; no marker is left.

    A region whose section is not in ``sections`` is sanitized and left unmarked. Text after a
    begin marker that has no end marker is sanitized up to the next region: marker syntax can
    never take draft text out of the sanitizer.
    """
    by_slug = {s.section: s for s in sections}

    def marked(region: DraftRegion) -> str:
        section, inner = by_slug.get(region.section), sanitize(region.inner)
        return _element(section, inner, labels, cite) if section else inner

    return _each_region(content_html, marked, _between_regions)


def unmark_page(page_html: str) -> str:
    """A whole built page: draft regions that reached it unmarked are sanitized, stray markers dropped."""
    return _each_region(page_html, lambda region: sanitize(region.inner), remove_markers)


def _each_region(html: str, region_html: Callable[[DraftRegion], str], between: Callable[[str], str]) -> str:
    out, position = [], 0
    for region in find_regions(html):
        out += [between(html[position:region.start]), region_html(region)]
        position = region.end
    out.append(between(html[position:]))
    return "".join(out)


def _between_regions(html: str) -> str:
    dangling = BEGIN.search(html)
    if dangling:
        html = html[:dangling.start()] + sanitize(html[dangling.end():])
    return remove_markers(html)


def _element(section: SectionReview, inner: str, labels: Labels, cite: Callable[[dict], Citation]) -> str:
    attrs = f'class="aigen-draft" data-aigen-status="{section.state}"'
    if section.fill:
        attrs += f' data-aigen-fill="{section.fill}"'
    attrs += f' data-aigen-section="{htmlmod.escape(section.section)}"'
    if section.code_status:
        attrs += f' data-aigen-code="{section.code_status}"'
    attrs += f' data-aigen-sources="{len(section.sources)}"'
    errors = "".join(
        f'<p class="aigen-code-error">'
        f'{htmlmod.escape(labels.text("code_failed", language=c.get("language") or "", error=c.get("error") or ""))}'
        f'</p>'
        for c in section.code if c["status"] == "invalid"
    )
    title = htmlmod.escape(label(section, labels))
    return (f'<div {attrs} title="{title}">\n<p class="aigen-draft-label">{title}</p>{inner.strip()}\n'
            f'{errors}{sources_list(section.sources, labels, cite)}</div>')


def sources_list(sources: list[dict], labels: Labels, cite: Callable[[dict], Citation]) -> str:
    """The "Sources:" list of a draft (nothing when it has none), sanitized: titles and ids are untrusted."""
    if not sources:
        return ""
    items = "".join(f"<li>{_citation(cite(source))}</li>" for source in sources)
    return sanitize(f'<p class="aigen-sources-label">{htmlmod.escape(labels["sources"])}</p>'
                    f'<ul class="aigen-sources">{items}</ul>\n')


def _citation(citation: Citation) -> str:
    title = htmlmod.escape(citation.title)
    if citation.href:
        return f'<a href="{htmlmod.escape(citation.href)}">{title}</a>'
    where = f"<code>{htmlmod.escape(citation.location or '')}</code>"
    return where if citation.location == citation.title else f"{title} ({where})"


def banner(sections: list[SectionReview], review_url: str | None, labels: Labels = Labels()) -> str:
    """Admonition-style notice for a page holding drafts awaiting review."""
    link = (f' <a class="aigen-queue-link" href="{htmlmod.escape(review_url)}">'
            f'{htmlmod.escape(labels["banner_link"])}</a>' if review_url else "")
    return (
        '<div class="admonition warning aigen-banner" role="note">'
        f'<p class="admonition-title">{htmlmod.escape(labels["banner_title"])}</p>'
        f'<p>{htmlmod.escape(labels.text("banner_text", count=len(sections)))}{link}</p></div>\n'
    )


def with_banner(content_html: str, banner_html: str) -> str:
    """A page's content with the banner just after its title (``<h1>``), or first when it has none."""
    title = _TITLE.search(content_html)
    at = title.end() if title else 0
    return content_html[:at] + banner_html + content_html[at:]
