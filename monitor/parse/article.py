"""Article pages → plain text (trafilatura), and when a feed entry needs its page fetched.

:func:`extract_article_text` is pure: it takes HTML that :mod:`monitor.sources.fetch` already
fetched and never lets trafilatura fetch anything (``extract`` only parses what it is
given; no ``fetch_url``, no downloads). It favours precision: page furniture, comments,
link lists and cookie banners are dropped even if a sentence of the article goes with
them, since figures are read from this text and furniture numbers are false figures. For
the same reason trafilatura's fallback extractors are off (``fast=True``): on a page with no
article they return menus.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from monitor.domain.model import Entry

__all__ = ["FETCH_MODES", "extract_article_text", "needs_article"]

FETCH_MODES = ("auto", "always", "never")


def extract_article_text(html: bytes | str, url: str) -> str | None:
    """The main text of an article page, paragraphs separated by blank lines; None if none."""
    if not html.strip():
        return None
    import trafilatura  # ~0.2 s to import: only a poll that fetches an article page pays it

    text = trafilatura.extract(
        html,
        url=url,
        favor_precision=True,
        fast=True,  # no readability/justext fallbacks: they return nav text on empty pages
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        output_format="txt",
        with_metadata=False,
    )
    if not text:
        return None
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n\n".join(p for p in paragraphs if p)
    return text or None


def needs_article(entry: Entry, mode: str, min_chars: int) -> bool:
    """Whether to fetch ``entry``'s page: ``always``, ``never``, or ``auto`` when the
    entry's own text is shorter than ``min_chars``. Only http(s) links are ever fetched."""
    if mode not in FETCH_MODES:
        raise ValueError(f"fetch_article must be one of {', '.join(FETCH_MODES)}, not {mode!r}")
    if mode == "never" or not entry.url or urlsplit(entry.url).scheme not in ("http", "https"):
        return False
    return mode == "always" or len(entry.text) < min_chars
