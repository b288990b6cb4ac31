"""Rendered-page marking: draft regions become styled review elements; their HTML is sanitized."""

from __future__ import annotations

import html as htmlmod

import nh3

from mkdocs_aigen.authoring.status import DRAFTED, EDITED, PLACEHOLDER, SectionReview
from mkdocs_aigen.markers import find_regions

_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"class", "id", "title"}}


def label(section: SectionReview) -> str:
    """What the review mark of a section says."""
    if section.state == DRAFTED:
        return "AI draft · awaiting review"
    if section.state == EDITED:
        return "AI draft · edited, awaiting review"
    if section.fill == PLACEHOLDER:
        return "No draft yet"
    return "AI draft made by this build · awaiting review"


def sanitize(fragment: str) -> str:
    """Strip anything that can run script (tags, event handlers, ``javascript:`` URLs)."""
    return nh3.clean(fragment, attributes=_ATTRIBUTES, link_rel=None)


def mark_drafts(page_html: str, sections: list[SectionReview]) -> str:
    """Replace each draft region of ``page_html`` with a review element for its section.

    A region whose section is not in ``sections`` keeps its markers (removed later, unmarked).
    """
    by_slug = {s.section: s for s in sections}
    out, position = [], 0
    for region in find_regions(page_html):
        section = by_slug.get(region.section)
        if section is not None:
            out += [page_html[position:region.start], _element(section, sanitize(region.inner))]
            position = region.end
    out.append(page_html[position:])
    return "".join(out)


def _element(section: SectionReview, inner: str) -> str:
    attrs = f'class="aigen-draft" data-aigen-status="{section.state}"'
    if section.fill:
        attrs += f' data-aigen-fill="{section.fill}"'
    attrs += f' data-aigen-section="{htmlmod.escape(section.section)}"'
    if section.code_status:
        attrs += f' data-aigen-code="{section.code_status}"'
    errors = "".join(
        f'<p class="aigen-code-error">Code sample ({htmlmod.escape(c.get("language") or "")}) failed its check: '
        f'{htmlmod.escape(c.get("error") or "")}</p>'
        for c in section.code if c["status"] == "invalid"
    )
    return f'<div {attrs}>\n<p class="aigen-draft-label">{label(section)}</p>{inner.strip()}\n{errors}</div>'


def banner(sections: list[SectionReview], review_url: str | None) -> str:
    """Admonition-style notice at the top of a page holding drafts awaiting review."""
    count = len(sections)
    link = f' See the <a href="{htmlmod.escape(review_url)}">review queue</a>.' if review_url else ""
    return (
        '<div class="admonition warning aigen-banner">'
        '<p class="admonition-title">Unreviewed AI draft</p>'
        f"<p>This page holds {count} drafted section{'s' if count != 1 else ''} that no one has reviewed yet: "
        f"check facts and code before relying on them.{link}</p></div>\n"
    )

