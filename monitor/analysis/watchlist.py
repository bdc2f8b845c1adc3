"""Watchlists: the domain type, and loading it from YAML with every problem at FILE:LINE.

A watchlist is one YAML file ``watchlists/<name>.yaml``::

    name: kn-23                      # must equal the file name without .yaml
    description: ...
    terms:                           # named groups of aliases (see monitor.analysis.matching)
      north_korea: [North Korea, DPRK, Pyongyang]
      munitions: [KN-23, Hwasong-11, {regex: "Hwasong-?11[a-d]?"}]
      games: [video game]
    match:                           # rules on groups; a story matches when
      all_of: [north_korea, munitions]   # every one of these groups has a hit,
      any_of: []                         # at least one of these has (when listed; an
                                         # item may be a together set, see below),
      none_of: [games]                   # none of these has,
      together: [[munitions, russia]]    # and each of these sets hits in one sentence
                                         # ({groups: [...], sentences: 2, unless: [g]}:
                                         # in two in a row, neither with a hit of g).
    alerts: [new_item, figure_change]
    routes: [{notifier: slack, channel: "#nk"}, {notifier: email, to: [a@example.org]}]
    figures: {kn23_missiles: {unit: missiles, cues: [...], subjects: [...]}}
    examples:                        # run by ``newsmon validate`` and the tests
      match: ["..."]
      no_match: ["..."]
      figures: [{text: "...", expect: [{figure: kn23_missiles, low: 50, high: 50}]}]

There is no separate top-level ``exclude:``: a ``none_of`` group says the same, by name.
Every group must be used by a rule, and at least one of ``all_of``/``any_of``/``together``
is needed, so a watchlist never matches everything. A group in ``together`` is required
by it (it need not be listed in ``all_of`` as well, but may be); a group may be in several
``together`` sets, never in ``none_of`` as well. ``unless`` groups are sentence-level
exclusions ("Russian soldiers" in the sentence of the dead): unlike ``none_of`` they bar a
sentence, not the story. The rules are groups and sentences, not grammar, so that a
maintainer can read why a story matched in ``newsmon inspect``.

The schema the YAML is validated against is :mod:`monitor.analysis.watchlist_schema`; the
examples are run by :mod:`monitor.analysis.watchlist_examples`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from monitor.analysis.matching import Alias, Pattern, Phrase
from monitor.analysis.phrases import phrase_key
from monitor.analysis.watchlist_schema import (
    ExamplesModel,
    FigureModel,
    NoiseModel,
    RouteModel,
    TogetherModel,
    WatchlistModel,
)
from monitor.config.yamlfile import YamlDoc, parse_yaml, validate_doc
from monitor.domain.errors import ConfigError, Problem
from monitor.domain.model import (
    ALERT_KINDS,
    LANGUAGE_NAMES,
    AlertKind,
    FigureSpec,
    FigureWords,
    Noise,
    Qualifier,
    QuietHours,
    Route,
)
from monitor.domain.notifier_config import NOTIFIER_NAMES

__all__ = [
    "Examples",
    "Watchlist",
    "load_watchlist_text",
    "load_watchlists",
]


# --- the domain type ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TermGroup:
    name: str
    aliases: tuple[Alias, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()
    together: tuple[Together, ...] = ()
    any_together: tuple[Together, ...] = ()  # the together sets listed in any_of


@dataclass(frozen=True, slots=True)
class Together:
    """Groups that must all hit within ``sentences`` consecutive sentences (1: in one)."""

    groups: tuple[str, ...]
    sentences: int = 1
    unless: tuple[str, ...] = ()  # a sentence with a hit of these does not count


@dataclass(frozen=True, slots=True)
class TextExample:
    text: str
    line: int | None


@dataclass(frozen=True, slots=True)
class ExpectedFigure:
    figure: str
    low: float
    high: float
    unit: str | None = None
    qualifier: Qualifier | None = None


@dataclass(frozen=True, slots=True)
class FigureExample:
    text: str
    expect: tuple[ExpectedFigure, ...]
    line: int | None
    language: str | None = None  # the language block it is written in (None: English)


@dataclass(frozen=True, slots=True)
class Examples:
    match: tuple[TextExample, ...] = ()
    no_match: tuple[TextExample, ...] = ()
    figures: tuple[FigureExample, ...] = ()

    @property
    def count(self) -> int:
        return len(self.match) + len(self.no_match) + len(self.figures)


@dataclass(frozen=True, slots=True)
class Watchlist:
    """One validated watchlist file."""

    name: str
    description: str
    path: str
    terms: tuple[TermGroup, ...]
    rule: Rule
    alerts: frozenset[AlertKind]
    routes: tuple[Route, ...]
    figures: tuple[FigureSpec, ...]
    examples: Examples = Examples()
    noise: Noise = Noise()  # noqa: RUF009 (frozen)
    # Entries older than this when first seen raise none of this watchlist's alerts
    # (None: the feed's max_age, else alerts.max_age; math.inf: "off").
    max_age: float | None = None


# --- loading --------------------------------------------------------------------------------


def load_watchlists(directory: Path) -> list[Watchlist]:
    """Every ``*.yaml``/``*.yml`` in ``directory``, sorted by file name.

    Raises one ConfigError with every problem of every file (FILE:LINE each).
    """
    if not directory.is_dir():
        raise ConfigError([Problem(str(directory), None, "watchlist directory not found")])
    paths = sorted(
        path
        for pattern in ("*.yaml", "*.yml")
        for path in directory.glob(pattern)
        if not path.name.startswith(".")
    )
    if not paths:
        raise ConfigError([Problem(str(directory), None, "no watchlists (*.yaml) in directory")])
    watchlists: list[Watchlist] = []
    problems: list[Problem] = []
    inside = directory.resolve()
    for path in paths:
        if path.is_symlink() and not path.resolve().is_relative_to(inside):
            # its target's content would be echoed into errors and /readyz
            problems.append(Problem(str(path), None, "a symlink out of the folder: not read"))
            continue
        try:
            text = path.read_text(encoding="utf-8")
            watchlists.append(load_watchlist_text(text, path))
        except ConfigError as exc:
            problems.extend(exc.problems)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), None, f"cannot read file: {exc}"))
    problems.extend(_duplicate_names(watchlists))
    if problems:
        raise ConfigError(problems)
    return watchlists


def load_watchlist_text(text: str, path: str | Path) -> Watchlist:
    """Parse and check one watchlist document; ``path`` names it in problems and gives the
    expected ``name`` (its stem). Raises ConfigError with every problem, sorted by line."""
    doc = parse_yaml(text, str(path))
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(doc.path, 1, "a watchlist must be a mapping of keys")])
    model = validate_doc(doc, WatchlistModel)
    problems = _check(doc, model, Path(path).stem)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return _build(doc, model)


def _duplicate_names(watchlists: Iterable[Watchlist]) -> list[Problem]:
    first: dict[str, str] = {}
    problems = []
    for watchlist in watchlists:
        if watchlist.name in first:
            message = (
                f"watchlist name {watchlist.name!r} is already used by {first[watchlist.name]}"
            )
            problems.append(Problem(watchlist.path, None, message))
        first.setdefault(watchlist.name, watchlist.path)
    return problems


def _check(doc: YamlDoc, model: WatchlistModel, stem: str) -> list[Problem]:
    def at(*loc: str | int) -> Callable[[str], Problem]:
        return lambda message: Problem(doc.path, doc.line_of(loc), message)

    problems = []
    if model.name != stem:
        problems.append(at("name")(f"name {model.name!r} must equal the file name {stem!r}"))
    problems += _check_rules(model, at)
    problems += _check_aliases(model, at)
    problems += _check_delivery(model, at)
    problems += _check_figure_examples(model, at)
    problems += _check_languages(model, at)
    return problems


At = Callable[..., Callable[[str], Problem]]


def _check_rules(model: WatchlistModel, at: At) -> list[Problem]:
    problems = []
    used: dict[str, str] = {}
    for rule in ("all_of", "any_of", "none_of"):
        for i, group in enumerate(getattr(model.match, rule)):
            if not isinstance(group, str):
                continue  # a together set in any_of: _check_together
            if group not in model.terms:
                known = ", ".join(model.terms)
                problems.append(at("match", rule, i)(f"unknown group {group!r} (groups: {known})"))
            elif group in used:
                message = f"group {group!r} is already in {used[group]}"
                problems.append(at("match", rule, i)(message))
            used.setdefault(group, rule)
    problems += _check_together(model, at, used)
    if not model.match.all_of and not model.match.any_of and not model.match.together:
        message = "match needs all_of, any_of or together, or it would match anything"
        problems.append(at("match")(message))
    for group in model.terms:
        if group not in used:
            problems.append(at("terms", group)(f"group {group!r} is not used by match"))
    return problems


def _check_together(model: WatchlistModel, at: At, used: dict[str, str]) -> list[Problem]:
    """Each together set (in ``together`` or ``any_of``) names two or more known groups,
    none of them in none_of."""
    problems = []
    sets = [("together", i, t) for i, t in enumerate(model.match.together)]
    sets += [("any_of", i, t) for i, t in enumerate(model.match.any_of) if not isinstance(t, str)]
    for rule, i, together in sets:
        groups = together if isinstance(together, list) else together.groups
        if len(set(groups)) < 2:
            problems.append(at("match", rule, i)("a together set needs two or more groups"))
        for j, group in enumerate(groups):
            where = at("match", rule, i, *(() if isinstance(together, list) else ("groups",)), j)
            if group not in model.terms:
                known = ", ".join(model.terms)
                problems.append(where(f"unknown group {group!r} (groups: {known})"))
            elif used.get(group) == "none_of":
                problems.append(where(f"group {group!r} is in none_of: it cannot be required"))
            used.setdefault(group, "together")
        unless = [] if isinstance(together, list) else together.unless
        for j, group in enumerate(unless):
            if group not in model.terms:
                known = ", ".join(model.terms)
                message = f"unknown group {group!r} (groups: {known})"
                problems.append(at("match", rule, i, "unless", j)(message))
            used.setdefault(group, "unless")
    return problems


def _check_aliases(model: WatchlistModel, at: At) -> list[Problem]:
    problems = []
    for group, aliases in model.terms.items():
        seen: dict[str, str] = {}
        for i, alias in enumerate(aliases):
            if not isinstance(alias, Phrase):
                continue
            key = phrase_key(alias.text)
            if key in seen:
                message = f"alias {alias.text!r} is the same as {seen[key]!r} (spaces, hyphens "
                problems.append(at("terms", group, i)(message + "and case do not matter)"))
            seen.setdefault(key, alias.text)
    return problems


def _check_delivery(model: WatchlistModel, at: At) -> list[Problem]:
    problems = _kind_problems(model.alerts, at, "alerts")
    if "figure_change" in model.alerts and not model.figures:
        problems.append(at("alerts")("figure_change alerts need at least one figure in figures:"))
    if model.alerts and not model.routes:
        problems.append(at("alerts")("alerts need routes: say where to send them"))
    for i, route in enumerate(model.routes):
        problems += [at("routes", i)(message) for message in _route_problems(route)]
        problems += _kind_problems(route.digest_kinds, at, "routes", i, "digest_kinds")
    if model.noise.quiet_hours is not None:
        quiet = model.noise.quiet_hours
        problems += _kind_problems(quiet.kinds, at, "noise", "quiet_hours", "kinds")
        if quiet.start == quiet.end:
            problems.append(at("noise", "quiet_hours")("quiet hours need start and end to differ"))
    return problems


def _kind_problems(kinds: list[str], at: At, *loc: str | int) -> list[Problem]:
    """Each unknown alert kind in a list, at its own line."""
    return [
        at(*loc, i)(f"unknown alert kind {kind!r} ({', '.join(ALERT_KINDS)})")
        for i, kind in enumerate(kinds)
        if kind not in ALERT_KINDS
    ]


def _route_problems(route: RouteModel) -> list[str]:
    if route.notifier not in NOTIFIER_NAMES:
        return [f"unknown notifier {route.notifier!r} ({', '.join(NOTIFIER_NAMES)})"]
    problems = []
    if route.channel and route.notifier != "slack":
        problems.append("channel is for slack routes only")
    if route.to and route.notifier != "email":
        problems.append("to is for email routes only")
    problems += [
        f"{address!r} is not an email address" for address in route.to if "@" not in address
    ]
    return problems


def _check_figure_examples(model: WatchlistModel, at: At) -> list[Problem]:
    problems = []
    for i, example in enumerate(model.examples.figures):
        for j, expected in enumerate(example.expect):
            where = at("examples", "figures", i, "expect", j)
            if expected.figure not in model.figures:
                problems.append(where(f"unknown figure {expected.figure!r}"))
            if expected.low > expected.high:
                problems.append(where("low must not be greater than high"))
    return problems


def _check_languages(model: WatchlistModel, at: At) -> list[Problem]:
    """Each language block names a language newsmon reads, groups and figures that exist."""
    problems = []
    known = ", ".join(code for code in LANGUAGE_NAMES if code != "en")
    for code, block in model.languages.items():
        if code not in LANGUAGE_NAMES or code == "en":
            problems.append(at("languages", code)(f"unknown language {code!r} (known: {known})"))
        for group in block.terms:
            if group not in model.terms:
                message = f"unknown group {group!r}: add it to terms first"
                problems.append(at("languages", code, "terms", group)(message))
        for name in block.figures:
            if name not in model.figures:
                message = f"unknown figure {name!r}: define it in figures first"
                problems.append(at("languages", code, "figures", name)(message))
        for i, example in enumerate(block.examples.figures):
            for j, expected in enumerate(example.expect):
                where = at("languages", code, "examples", "figures", i, "expect", j)
                if expected.figure not in model.figures:
                    problems.append(where(f"unknown figure {expected.figure!r}"))
    return problems


def _terms(model: WatchlistModel) -> tuple[TermGroup, ...]:
    """The groups with their aliases in every language; the stems of one group in one
    language become one regex (one search instead of one per stem)."""
    groups = []
    for name, aliases in model.terms.items():
        more: list[Alias] = []
        for block in model.languages.values():
            extra = block.terms.get(name, [])
            stems = [a.regex for a in extra if isinstance(a, Pattern)]
            more += [a for a in extra if not isinstance(a, Pattern)]
            if stems:
                more.append(Pattern("(?:" + "|".join(stems) + ")"))
        groups.append(TermGroup(name, (*aliases, *more)))
    return tuple(groups)


def _language_examples(doc: YamlDoc, model: WatchlistModel, kind: str) -> tuple[TextExample, ...]:
    return tuple(
        TextExample(text, doc.line_of(("languages", code, "examples", kind, i)))
        for code, block in model.languages.items()
        for i, text in enumerate(getattr(block.examples, kind))
    )


def _figure_examples(doc: YamlDoc, model: WatchlistModel) -> tuple[FigureExample, ...]:
    blocks: list[tuple[tuple[str | int, ...], str | None, ExamplesModel]] = [
        (("examples",), None, model.examples)
    ]
    blocks += [
        (("languages", code, "examples"), code, block.examples)
        for code, block in model.languages.items()
    ]
    return tuple(
        FigureExample(
            example.text,
            tuple(ExpectedFigure(**e.model_dump()) for e in example.expect),
            doc.line_of((*loc, "figures", i)),
            language,
        )
        for loc, language, examples in blocks
        for i, example in enumerate(examples.figures)
    )


def _build(doc: YamlDoc, model: WatchlistModel) -> Watchlist:
    examples = model.examples
    return Watchlist(
        name=model.name,
        description=model.description,
        path=doc.path,
        terms=_terms(model),
        rule=Rule(
            all_of=tuple(model.match.all_of),
            any_of=tuple(g for g in model.match.any_of if isinstance(g, str)),
            none_of=tuple(model.match.none_of),
            together=tuple(_together(t) for t in model.match.together),
            any_together=tuple(_together(t) for t in model.match.any_of if not isinstance(t, str)),
        ),
        alerts=frozenset(kind for kind in ALERT_KINDS if kind in model.alerts),
        routes=tuple(_route(r) for r in model.routes),
        figures=tuple(
            _figure_spec(model.name, name, f, _words(model, name))
            for name, f in model.figures.items()
        ),
        noise=_noise(model.noise),
        max_age=model.max_age,
        examples=Examples(
            match=_texts(doc, "match", examples.match) + _language_examples(doc, model, "match"),
            no_match=_texts(doc, "no_match", examples.no_match)
            + _language_examples(doc, model, "no_match"),
            figures=_figure_examples(doc, model),
        ),
    )


def _together(together: list[str] | TogetherModel) -> Together:
    if isinstance(together, list):
        return Together(tuple(together))
    return Together(tuple(together.groups), together.sentences, tuple(together.unless))


def _kinds(names: Iterable[str]) -> tuple[AlertKind, ...]:
    return tuple(kind for kind in ALERT_KINDS if kind in names)


def _route(route: RouteModel) -> Route:
    return Route(
        route.notifier,
        route.channel,
        tuple(route.to),
        digest=route.digest,
        digest_kinds=_kinds(route.digest_kinds),
        digest_at=route.digest_at,
        timezone=route.timezone,
    )


def _noise(noise: NoiseModel) -> Noise:
    quiet = noise.quiet_hours
    return Noise(
        max_per_hour=noise.max_per_hour,
        quiet_hours=QuietHours(quiet.start, quiet.end, quiet.timezone, _kinds(quiet.kinds))
        if quiet
        else None,
        min_outlets=noise.min_outlets,
    )


def _texts(doc: YamlDoc, kind: str, texts: list[str]) -> tuple[TextExample, ...]:
    return tuple(TextExample(t, doc.line_of(("examples", kind, i))) for i, t in enumerate(texts))


def _words(model: WatchlistModel, figure: str) -> tuple[tuple[str, FigureWords], ...]:
    return tuple(
        (code, FigureWords(tuple(w.cues), tuple(w.subjects), tuple(w.units)))
        for code, block in sorted(model.languages.items())
        if (w := block.figures.get(figure)) is not None
    )


def _figure_spec(
    watchlist: str,
    name: str,
    figure: FigureModel,
    languages: tuple[tuple[str, FigureWords], ...] = (),
) -> FigureSpec:
    return FigureSpec(
        name=name,
        watchlist=watchlist,
        unit=figure.unit,
        cues=tuple(figure.cues),
        subjects=tuple(figure.subjects),
        units=tuple(figure.units),
        exclude=tuple(figure.exclude),
        percent=figure.percent,
        money=figure.money,
        tolerance=figure.tolerance,
        languages=languages,
    )
