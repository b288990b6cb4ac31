"""Rendered-page marking: draft regions become styled review elements; their HTML is sanitized."""

from __future__ import annotations

import html as htmlmod

import nh3

from mkdocs_aigen.authoring.status import RegionInfo
from mkdocs_aigen.markers import BEGIN, END

_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "*": {"class", "id", "title"}}
STATUS_LABELS = {
    "unreviewed": "AI draft · awaiting review",
    "edited": "AI draft · edited, awaiting review",
    "missing": "No draft yet",
}


def sanitize(fragment: str) -> str:
    """Strip anything that can run script (tags, event handlers, ``javascript:`` URLs)."""
    return nh3.clean(fragment, attributes=_ATTRIBUTES, link_rel=None)


def mark_drafts(page_html: str, regions: list[RegionInfo]) -> str:
    """Replace the n-th draft region of ``page_html`` with a review element for ``regions[n]``."""
    out, position = [], 0
    for info in regions:
        begin = BEGIN.search(page_html, position)
        if begin is None:
            break
        close = page_html.find(END, begin.end())
        if close < 0:
            break
        out.append(page_html[position: begin.start()])
        out.append(_element(info, sanitize(page_html[begin.end(): close])))
        position = close + len(END)
    out.append(page_html[position:])
    return "".join(out)


def _element(info: RegionInfo, inner: str) -> str:
    attrs = f'class="aigen-draft" data-aigen-status="{info.status}" data-aigen-section="{htmlmod.escape(info.section)}"'
    if info.code_status:
        attrs += f' data-aigen-code="{info.code_status}"'
    label = f'<p class="aigen-draft-label">{STATUS_LABELS[info.status]}</p>'
    errors = "".join(
        f'<p class="aigen-code-error">Code sample ({htmlmod.escape(c.get("language") or "")}) failed its check: '
        f'{htmlmod.escape(c.get("error") or "")}</p>'
        for c in info.code if c["status"] == "invalid"
    )
    return f"<div {attrs}>\n{label}{inner.strip()}\n{errors}</div>"


def banner(regions: list[RegionInfo], review_url: str | None) -> str:
    """Admonition-style notice at the top of a page holding drafts awaiting review."""
    count = len(regions)
    link = f' See the <a href="{htmlmod.escape(review_url)}">review queue</a>.' if review_url else ""
    return (
        '<div class="admonition warning aigen-banner">'
        '<p class="admonition-title">Unreviewed AI draft</p>'
        f"<p>This page holds {count} drafted section{'s' if count != 1 else ''} that no one has reviewed yet: "
        f"check facts and code before relying on them.{link}</p></div>\n"
    )

