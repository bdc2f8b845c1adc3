"""One reading of an article's text, for the service and for ``newsmon inspect`` alike.

:func:`normalise_whitespace` is what every article body goes through before it is matched
and read for figures: in the feed path (:func:`monitor.pipeline.cycle.build_article`, on the entry's
text or the fetched page's) and in ``newsmon inspect`` (:func:`monitor.cli.inspect.
article_from_bytes`, on a file, stdin or a URL). (Not to be confused with
:func:`monitor.identity.keys.normalise_text`, the words-only form a story's hash is taken of.)
Whitespace runs become one space, lines are stripped, runs of blank lines become one blank
line; line breaks themselves are kept.
They matter: a headline, a bullet or a table row is a sentence of its own to the matcher's
``together`` rules and to the figure extractor, and flattening them joins a headline to the
first sentence of the story ("NK LOSSES TOP 2,000 Seoul says ..."). Plain text in a feed
keeps its line breaks for the same reason (:func:`monitor.parse.htmltext.html_to_text`); in HTML the
source's line breaks are spaces and the tags make the lines.

The function is idempotent, so text that is already normalised (everything
``html_to_text`` and the article extractor return) is unchanged by it.
"""

from __future__ import annotations

__all__ = ["collapse_spaces", "normalise_whitespace"]


def normalise_whitespace(text: str) -> str:
    """Whitespace runs as one space, lines stripped, blank-line runs as one blank line."""
    if "\n" not in text:
        return collapse_spaces(text)
    parts: list[str] = []
    blank = False
    for line in text.split("\n"):
        if line:
            line = collapse_spaces(line)
        if not line:
            blank = True
            continue
        if parts:
            parts.append("\n\n" if blank else "\n")
        parts.append(line)
        blank = False
    return "".join(parts)


def collapse_spaces(text: str) -> str:
    """Whitespace runs as one space, stripped: " ".join(text.split()), which is costly
    per word, unless the only whitespace is single spaces (every other whitespace
    character is unprintable)."""
    if "  " not in text and text.isprintable():
        return text.strip(" ")
    return " ".join(text.split())
