"""HTML fragments → plain text: :func:`html_to_text`, which every feed field goes through.

Regexes, not an HTML parser: feed fields are fragments, and a parser costs many times more
per entry for the same text. Pure: no I/O.
"""

from __future__ import annotations

import html
import re

from monitor.domain.text import normalise_whitespace

__all__ = ["html_to_text"]

# Quoted attribute values may contain ">" (and "<"); outside quotes a tag ends at the next
# "<". Without that bound every unclosed "<" scanned to the end of the text and 64 KB of
# "<p a" took 38 s (quadratic); with it each attempt stops at the next "<", so a pass is
# linear (tests/test_hostile.py holds it so).
_ATTRS = r"""(?:[^<>"']|"[^"]*"|'[^']*')*"""
# One literal first character lets the regex engine skip to each "<" instead of trying
# every position, which is most of a pass's cost; "]]>" is replaced apart for that reason.
_DROP = re.compile(
    r"<(?:!--.*?(?:-->|$)|!\[CDATA\["
    r"|(script|style|noscript|template|iframe|svg|math|object|head|title)\b.*?(?:</\1\s*>|$))",
    re.I | re.S,
)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_BLOCK = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|dl|dt|dd|tr|table|blockquote|pre|section|article|header"
    r"|footer|aside|figure|figcaption|hr|main|nav|address|details|summary)\b" + _ATTRS + ">",
    re.I,
)
_TAG = re.compile(r"</?[a-zA-Z]" + _ATTRS + r">|</?[a-zA-Z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
# Where markup could start (the tags, comments, CDATA and processing instructions the
# passes below remove); re.I as in _DROP, so "<ſcript>" is markup too.
_MARKUP = re.compile(r"<[a-z/!?]", re.I)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: no tags, scripts or styles; entities unescaped;
    whitespace collapsed; paragraph breaks kept as blank lines, ``<br>`` as newlines.

    Text with no markup in it is plain text: its own line breaks are kept (as
    :func:`monitor.domain.text.normalise_whitespace` keeps them), so an entry carrying a plain-text
    article reads as that article does in ``newsmon inspect``."""
    if "<" not in markup or not _MARKUP.search(markup):
        return normalise_whitespace(html.unescape(markup) if "&" in markup else markup)
    # Each pass is a regex starting with "<" (see _DROP) or a str method: a pass that
    # visits every character costs several times more.
    text = _DROP.sub(" ", markup)
    if "]]>" in text:
        text = text.replace("]]>", " ")
    if "\n" in text:  # the source's newlines are spaces; line breaks come from tags
        text = text.replace("\n", " ")
    if "<" in text:
        # Paragraphs and line breaks alone (common) need none of the regexes below:
        # with no other "<", each of these is a whole tag they would match.
        simple = text.replace("<p>", "\n\n").replace("</p>", "\n\n").replace("<br>", "\n")
        if "<" in simple:
            simple = _BREAK.sub("\n", text)
            simple = _BLOCK.sub("\n\n", simple)
            simple = _TAG.sub("", simple)
        text = simple
    return normalise_whitespace(html.unescape(text))
