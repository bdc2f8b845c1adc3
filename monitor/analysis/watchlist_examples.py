"""Watchlist examples run as tests: by ``newsmon validate`` and by the test suite.

Each ``match``/``no_match`` text must (not) match its watchlist, and each figure example
must yield the expected figures; a failure is a Problem at the example's line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from monitor.analysis.figures import FigureExtractor
from monitor.analysis.matching import Explanation, Matcher
from monitor.analysis.watchlist import ExpectedFigure, Watchlist
from monitor.domain.display import format_amount
from monitor.domain.errors import Problem
from monitor.domain.model import Article, FigureSpec, Observation

__all__ = ["ExtractorFactory", "check_examples", "explanation_for"]


class FigureExtracting(Protocol):
    def extract(self, article: Article) -> list[Observation]: ...


ExtractorFactory = Callable[[Sequence[FigureSpec]], FigureExtracting]


def check_examples(
    watchlists: Sequence[Watchlist], extractor_factory: ExtractorFactory = FigureExtractor
) -> list[Problem]:
    """Run every watchlist's examples; each failure is a Problem at the example's line.

    ``extractor_factory`` builds a figure extractor from specs; it is only used for figure
    examples.
    """
    matcher = Matcher(watchlists)
    problems = []
    for watchlist in watchlists:
        problems += _check_text_examples(matcher, watchlist)
        if watchlist.examples.figures:
            problems += _check_figure_examples_run(watchlist, extractor_factory)
    return problems


def explanation_for(matcher: Matcher, article: Article, name: str) -> Explanation:
    """The explanation of one watchlist (by name) for ``article``."""
    return next(e for e in matcher.explain(article) if e.watchlist == name)


def _check_text_examples(matcher: Matcher, watchlist: Watchlist) -> list[Problem]:
    problems = []
    for example, should_match in [
        *((e, True) for e in watchlist.examples.match),
        *((e, False) for e in watchlist.examples.no_match),
    ]:
        found = explanation_for(matcher, Article(title="", text=example.text), watchlist.name)
        if found.matched == should_match:
            continue
        if should_match:
            message = f"example should match but did not ({found.reason})"
        else:
            message = f"example should not match but did ({found.reason})"
        problems.append(Problem(watchlist.path, example.line, message))
    return problems


def _check_figure_examples_run(
    watchlist: Watchlist, extractor_factory: ExtractorFactory
) -> list[Problem]:
    extractor = extractor_factory(watchlist.figures)
    problems = []
    for example in watchlist.examples.figures:
        article = Article(title="", text=example.text, language=example.language)
        observations = extractor.extract(article)
        for expected in example.expect:
            if not any(_fits(expected, obs) for obs in observations):
                message = f"example should yield {_describe(expected)} but got {_got(observations)}"
                problems.append(Problem(watchlist.path, example.line, message))
    return problems


def _fits(expected: ExpectedFigure, observation: Observation) -> bool:
    return (
        observation.figure == expected.figure
        and observation.low <= expected.high
        and expected.low <= observation.high
        and expected.unit in (None, observation.unit)
        and expected.qualifier in (None, observation.qualifier)
    )


def _describe(expected: ExpectedFigure) -> str:
    extra = [expected.unit or "", f"({expected.qualifier})" if expected.qualifier else ""]
    return " ".join(
        x for x in (expected.figure, format_amount(expected.low, expected.high), *extra) if x
    )


def _got(observations: Sequence[Observation]) -> str:
    if not observations:
        return "no figures"
    return "; ".join(
        f"{o.figure} {format_amount(o.low, o.high)} {o.unit} ({o.qualifier})" for o in observations
    )
