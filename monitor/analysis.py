"""What newsmon reads from a new entry's article before storing it: the watchlists it
matches, the figures it states, and the exact hash, MinHash sketch and LSH band keys its
story is found by.

All of it is pure (the compiled watchlists and the text in, values out), so it runs in
the worker processes of ``monitor.parsepool`` as well as in this one, with equal results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.figures import FigureExtractor
from monitor.identity import text_hash
from monitor.matching import Matcher
from monitor.model import Article, Match, Observation
from storage.sketch import sketch_bands, text_sketch


@dataclass(frozen=True, slots=True)
class Analysis:
    matches: list[Match]
    observations: list[Observation]
    text_hash: str
    sketch: tuple[int, ...]
    bands: tuple[int, ...]


def analyse(matcher: Matcher, extractor: FigureExtractor, article: Article) -> Analysis:
    sketch = text_sketch(article.text)
    return Analysis(
        matches=matcher.match(article),
        observations=extractor.extract(article),
        text_hash=text_hash(article.title, article.text),
        sketch=sketch,
        bands=tuple(sketch_bands(sketch)),
    )


def analyse_all(
    matcher: Matcher, extractor: FigureExtractor, articles: Sequence[Article]
) -> list[Analysis]:
    return [analyse(matcher, extractor, article) for article in articles]
