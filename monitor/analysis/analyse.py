"""What newsmon reads from a new entry's article before storing it: the watchlists it
matches, the figures it states, and the exact hash, MinHash sketch and LSH band keys its
story is found by.

All of it is pure (the compiled watchlists and the text in, values out), so it runs in
the worker processes of ``monitor.pipeline.parsepool`` as well as in this one, with equal results.

Figures are read only where the story matches a watchlist that tracks them
(:func:`extract_figures`): a number in an off-topic story is no observation of a tracked
figure, whatever words stand near it, and most entries match nothing, so their extraction
is skipped. ``newsmon inspect`` calls the same function, so it shows what the service
records.

The MinHash sketch and band keys go the same way: they find a story by a *near*-duplicate
text, and only a story with a match can raise an alert. An entry that matched nothing is
placed by its exact text hash alone (its story has no band keys, so no later entry joins it
by similarity); the sketch was half the per-entry cost and ~85 % of entries match nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.analysis.figures import FigureExtractor
from monitor.analysis.matching import Matcher
from monitor.domain.model import Article, Match, Observation
from monitor.identity.keys import text_hash
from monitor.identity.sketch import sketch_bands, text_sketch


@dataclass(frozen=True, slots=True)
class Analysis:
    matches: list[Match]
    observations: list[Observation]
    text_hash: str
    sketch: tuple[int, ...]
    bands: tuple[int, ...]


def extract_figures(
    extractor: FigureExtractor, article: Article, matches: Sequence[Match]
) -> list[Observation]:
    """The figures ``article`` states for the watchlists it matched; none when it matched
    nothing (the extractor is not even run)."""
    matched = {m.watchlist for m in matches}
    if not matched:
        return []
    return [o for o in extractor.extract(article) if o.watchlist in matched]


def analyse(matcher: Matcher, extractor: FigureExtractor, article: Article) -> Analysis:
    """Matches, figures and story keys; the near-duplicate sketch and band keys only for
    an article that matched (empty otherwise: it joins a story by its exact text alone)."""
    matches = matcher.match(article)
    sketch = text_sketch(article.text) if matches else ()
    return Analysis(
        matches=matches,
        observations=extract_figures(extractor, article, matches),
        text_hash=text_hash(article.title, article.text),
        sketch=sketch,
        bands=tuple(sketch_bands(sketch)) if matches else (),
    )


def analyse_all(
    matcher: Matcher, extractor: FigureExtractor, articles: Sequence[Article]
) -> list[Analysis]:
    return [analyse(matcher, extractor, article) for article in articles]
