"""PDF letters: a :class:`LetterContent` in, the bytes of the letter out.

:func:`build_letter` is the one entry point. The parts it puts together live in their own
modules: the document template and its pages (:mod:`spoa.letters.template`), the story of
what the letter says (:mod:`spoa.letters.story`), values in words
(:mod:`spoa.letters.formatting`) and typed text made safe for paper
(:mod:`spoa.letters.typed_text`). The names in ``__all__`` are re-exported for callers.

Every piece of text that did not come from the templates passes through :func:`markup`
(escaped, newlines to line breaks) or is drawn as plain text on the canvas, so markup typed
into a field is printed as typed. Output is deterministic: the same content, hub, wording
and logo give the same bytes, dated from ``content.issued_on``.
"""

from __future__ import annotations

import io
import os
from functools import partial
from pathlib import Path

from spoa.letters.content import HubDetails, LetterContent
from spoa.letters.fonts import register_fonts
from spoa.letters.story import LetterStory
from spoa.letters.template import LetterDocTemplate, NumberedCanvas
from spoa.letters.typed_text import markup, plain_line
from spoa.letters.wording import (
    Letterhead,
    LetterResourceError,
    Wording,
    load_hub_details,
    load_letterhead,
    load_wording,
)

__all__ = [
    "LetterDocTemplate",
    "LetterResourceError",
    "Letterhead",
    "build_letter",
    "load_hub_details",
    "load_letterhead",
    "markup",
    "plain_line",
]

# -- the one entry point -----------------------------------------------------------------------

def build_letter(content: LetterContent, hub: HubDetails | None = None,
                 wording: Wording | None = None, *,
                 logo: str | os.PathLike[str] | None = None) -> bytes:
    """The PDF of one letter.

    `hub` and `logo` default to resources/letterhead/hub.yaml, `wording` to
    resources/letters/wording.yaml. The same arguments always give the same bytes.
    """
    register_fonts()
    if hub is None or logo is None:
        letterhead = load_letterhead()
        hub = hub if hub is not None else letterhead.hub
        logo = logo if logo is not None else letterhead.logo
    words = wording if wording is not None else load_wording()
    content_hash = content.content_hash()
    story = LetterStory(content, hub, words).flowables()
    output = io.BytesIO()
    document = LetterDocTemplate(output, content=content, hub=hub, wording=words, logo=Path(logo),
                                 content_hash=content_hash)
    document.build(story, canvasmaker=partial(NumberedCanvas,
                                              page_label=document.draw_page_label))
    return output.getvalue()
