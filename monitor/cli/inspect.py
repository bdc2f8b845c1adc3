"""What ``newsmon inspect`` and ``newsmon figures`` show: pure shaping of results for output."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.domain.display import format_value
from monitor.domain.errors import FetchError, NewsmonError

if TYPE_CHECKING:
    from monitor.config.settings import FetchConfig
    from monitor.domain.model import Article, Observation
    from monitor.runtime.app import Compiled
    from storage.models import FigureObservation, FigureSeries

_HTML = re.compile(rb"^\s*(<!doctype html|<html|<head|<body|<article|<div|<p[\s>])", re.I)


_HTML_LANG = re.compile(rb"<html\b[^>]*?\blang=[\"']?([A-Za-z]{2,3})\b", re.I)


def _looks_like_html(data: bytes) -> bool:
    return bool(_HTML.match(data[:2048]))


def article_from_bytes(data: bytes, source: str, published_at: datetime | None = None) -> Article:
    """Plain text as is; HTML reduced to its main text (and title) by the article extractor.
    Either way the text is normalised as the service normalises an entry's
    (:func:`monitor.domain.text.normalise_whitespace`), and ``published_at`` is the entry's date."""
    from monitor.domain.model import Article
    from monitor.domain.text import normalise_whitespace

    if _looks_like_html(data):
        from monitor.parse.article import extract_article_text
        from monitor.parse.htmltext import html_to_text

        text = extract_article_text(data, source) or html_to_text(data.decode("utf-8", "replace"))
        title_match = re.search(rb"<title[^>]*>(.*?)</title>", data, re.I | re.S)
        title = html_to_text(title_match.group(1).decode("utf-8", "replace")) if title_match else ""
        url = source if "://" in source else None
        lang = _HTML_LANG.search(data[:4096])
        language = lang.group(1).decode("ascii").lower() if lang else None
        return Article(
            title, normalise_whitespace(text), url, published_at=published_at, language=language
        )
    text = normalise_whitespace(data.decode("utf-8", "replace"))
    return Article(title="", text=text, url=None, published_at=published_at)


async def read_source(
    source: str, fetch_config: FetchConfig, published_at: datetime | None = None
) -> Article:
    """Read an article from a file path, ``-`` (stdin) or an http(s) URL, as an entry
    published at ``published_at``."""
    if source == "-":
        return article_from_bytes(sys.stdin.buffer.read(), "<stdin>", published_at)
    if re.match(r"^https?://", source, re.I):
        from monitor.sources.fetch import ARTICLE_ACCEPT, Fetcher

        async with Fetcher(fetch_config) as fetcher:
            result = await fetcher.fetch(source, accept=ARTICLE_ACCEPT)
        if not result.body:
            raise FetchError(f"{source}: empty response")
        return article_from_bytes(result.body, result.final_url, published_at)
    path = Path(source)
    try:
        return article_from_bytes(path.read_bytes(), str(path), published_at)
    except OSError as exc:
        raise NewsmonError(f"cannot read {source}: {exc.strerror or exc}") from None


def unique_observations(observations: Sequence[Observation]) -> list[Observation]:
    """One observation per figure value and quote, though several watchlists track it."""
    seen: set[tuple[str, str, float, float, str]] = set()
    unique = []
    for obs in observations:
        key = (obs.figure, obs.unit, obs.low, obs.high, obs.quote)
        if key not in seen:
            seen.add(key)
            unique.append(obs)
    return unique


def inspect_article(article: Article, compiled: Compiled) -> dict[str, Any]:
    """CONTRACT.md's inspect JSON, plus why each non-matching watchlist did not match. The
    figures are those the service records: of the matched watchlists only."""
    from monitor.analysis.analyse import extract_figures

    matches = compiled.matcher.match(article)
    observations = unique_observations(extract_figures(compiled.extractor, article, matches))
    matched = {m.watchlist for m in matches}
    explain = getattr(compiled.matcher, "explain", None)
    not_matched = []
    if explain is not None:
        for item in explain(article):
            if item.watchlist not in matched:
                not_matched.append({"name": item.watchlist, "reason": item.reason})
    from monitor.analysis.figures.languages.detect import detect_language

    language = article.language or detect_language(article.full_text)
    return {
        "language": language,
        "watchlists": [
            {"name": m.watchlist, "matched_terms": list(m.matched_terms)} for m in matches
        ],
        "figures": [
            {
                "figure": o.figure,
                "watchlist": o.watchlist,
                "value": o.value,
                "low": o.low,
                "high": o.high,
                "unit": o.unit,
                "qualifier": o.qualifier,
                "attributed_to": o.attributed_to,
                "quote": o.quote,
                "increment": o.increment,
                "as_of": o.as_of.isoformat() if o.as_of else None,
                "language": o.language,  # None: read by the English reader
            }
            for o in observations
        ],
        "not_matched": not_matched,
    }


def render_inspect(result: dict[str, Any]) -> str:
    from monitor.domain.model import LANGUAGE_NAMES

    language = result.get("language")
    lines = [f"Language: {LANGUAGE_NAMES.get(language, language)} ({language})"] if language else []
    lines.append("Watchlists matched:")
    lines += [f"  {w['name']}: {', '.join(w['matched_terms'])}" for w in result["watchlists"]] or [
        "  (none)"
    ]
    if result["not_matched"]:
        lines.append("Not matched:")
        lines += [f"  {w['name']}: {w['reason']}" for w in result["not_matched"]]
    lines.append("Figures:")
    for f in result["figures"]:
        who = f" — {f['attributed_to']}" if f["attributed_to"] else ""
        flags = (" [increment]" if f["increment"] else "") + (
            f" [as of {f['as_of']}]" if f["as_of"] else ""
        )
        lines.append(
            f"  {f['figure']}: {format_value(f['low'], f['high'], f['qualifier'], f['unit'])}"
            f"{who}{flags}\n      “{f['quote']}”{_in_language(f)}"
        )
    if not result["figures"]:
        lines.append("  (none)")
    return "\n".join(lines)


def _in_language(figure: dict[str, Any]) -> str:
    """ " (in Korean)" after a quote not in English, so a reader knows what they see."""
    from monitor.domain.model import LANGUAGE_NAMES

    language = figure.get("language")
    if not language or language == "en":
        return ""
    return f" (in {LANGUAGE_NAMES.get(language, language)})"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def figure_rows(rows: Sequence[tuple[FigureObservation, FigureSeries]]) -> list[dict[str, Any]]:
    """``figures --json`` rows, newest first, each with how many outlets stated that value."""
    outlets: dict[tuple[str, str, float, float], set[str]] = {}
    for obs, series in rows:
        key = (series.figure, series.unit, obs.low, obs.high)
        outlets.setdefault(key, set()).add(obs.outlet or obs.url or "")
    return [
        {
            "figure": series.figure,
            "unit": series.unit,
            "low": obs.low,
            "high": obs.high,
            "value": obs.value,
            "qualifier": obs.qualifier,
            "attributed_to": obs.attributed_to,
            "quote": obs.quote,
            "url": obs.url,
            "outlet": obs.outlet,
            "published_at": _iso(obs.published_at),
            "first_seen_at": _iso(obs.first_seen_at),
            "watchlist": obs.watchlist,
            "changed": obs.changed,
            "increment": obs.increment,
            "as_of": obs.as_of,
            "corroborations": len(outlets[(series.figure, series.unit, obs.low, obs.high)]),
        }
        for obs, series in rows
    ]


def render_figure_rows(rows: Sequence[dict[str, Any]]) -> str:
    lines: list[str] = []
    current = None
    for r in rows:
        if r["figure"] != current:
            current = r["figure"]
            lines.append(("\n" if lines else "") + f"{current}")
        when = (r["published_at"] or r["first_seen_at"] or "")[:10]
        flags = "  (increment)" if r["increment"] else ""
        flags += f"  (as of {r['as_of']})" if r["as_of"] else ""
        lines.append(
            f"  {when}  {format_value(r['low'], r['high'], r['qualifier'], r['unit']):<24}"
            f"  {r['attributed_to'] or 'unattributed':<32}  {r['outlet'] or '-':<22}"
            f"  ×{r['corroborations']}{flags}"
        )
    return "\n".join(lines)
