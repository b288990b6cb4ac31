"""The stop rules every backend applies to generated text (next heading, closing fence), as text.

Whatever a model or server returns, a draft never holds the heading that starts the next section or
the fence that closes its code sample: the text is cut here, whether or not generation stopped there.
"""

from __future__ import annotations

from mkdocs_aigen.ml.decoding import GenerationRequest
from mkdocs_aigen.ml.stops import (
    close_open_fences,
    truncate_at_closing_fence,
    truncate_at_heading,
)


def cut_at_stop(request: GenerationRequest, text: str, fence: str | None) -> tuple[str, str] | None:
    """``(text cut before the request's stop, "heading" | "fence")``, or None when ``text`` has no stop.

    ``fence``: the fence the prompt ends inside of. A prompt ending mid-line continues that line, so
    only later lines can be headings or fences.
    """
    at_line_start = request.prompt.endswith("\n") or not request.prompt
    start = 0 if at_line_start else text.find("\n") + 1
    if not (at_line_start or start):
        return None
    if request.stop_at_fence:
        cut, stopped = truncate_at_closing_fence(text[start:], fence or "```"), "fence"
    elif request.stop_heading_level is not None:
        cut, stopped = truncate_at_heading(text[start:], request.stop_heading_level, fence), "heading"
    else:
        return None
    return None if cut is None else (text[:start] + cut, stopped)


def close_fences(request: GenerationRequest, text: str, fence: str | None) -> str:
    """``text`` with an unclosed code fence closed, outside fence mode (where the caller closes it)."""
    return text if request.stop_at_fence else close_open_fences(text, fence)
