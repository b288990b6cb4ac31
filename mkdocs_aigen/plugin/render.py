"""Rendered-page marking: draft regions become styled review elements; their HTML is sanitized."""

from __future__ import annotations

import html as htmlmod
import re

import nh3

from mkdocs_aigen.authoring.status import DRAFTED, EDITED, PLACEHOLDER, SectionReview
from mkdocs_aigen.labels import Labels
from mkdocs_aigen.markers import find_regions

_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"class", "id", "title"}}


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
    """Strip anything that can run script (tags, event handlers, ``javascript:`` URLs)."""
    return nh3.clean(fragment, attributes=_ATTRIBUTES, link_rel=None)


def mark_drafts(page_html: str, sections: list[SectionReview], labels: Labels = Labels()) -> str:
    """Replace each draft region of ``page_html`` with a review element for its section.

    A region whose section is not in ``sections`` keeps its markers (removed later, unmarked).
    """
    by_slug = {s.section: s for s in sections}
    out, position = [], 0
    for region in find_regions(page_html):
        section = by_slug.get(region.section)
        if section is not None:
            out += [page_html[position:region.start], _element(section, sanitize(region.inner), labels)]
            position = region.end
    out.append(page_html[position:])
    return "".join(out)


def _element(section: SectionReview, inner: str, labels: Labels) -> str:
    attrs = f'class="aigen-draft" data-aigen-status="{section.state}"'
    if section.fill:
        attrs += f' data-aigen-fill="{section.fill}"'
    attrs += f' data-aigen-section="{htmlmod.escape(section.section)}"'
    if section.code_status:
        attrs += f' data-aigen-code="{section.code_status}"'
    errors = "".join(
        f'<p class="aigen-code-error">'
        f'{htmlmod.escape(labels.text("code_failed", language=c.get("language") or "", error=c.get("error") or ""))}'
        f'</p>'
        for c in section.code if c["status"] == "invalid"
    )
    title = htmlmod.escape(label(section, labels))
    return (f'<div {attrs} title="{title}">\n<p class="aigen-draft-label">{title}</p>{inner.strip()}\n'
            f'{errors}</div>')


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

