"""Watchlists: the YAML schema, loading with FILE:LINE problems, and examples run as tests.

A watchlist is one YAML file ``watchlists/<name>.yaml``::

    name: kn-23                      # must equal the file name without .yaml
    description: ...
    terms:                           # named groups of aliases (see monitor.matching)
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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from monitor.config import MaxAge
from monitor.errors import ConfigError, Problem
from monitor.matching import (
    Alias,
    Explanation,
    Matcher,
    Pattern,
    Phrase,
    phrase_key,
    phrase_problem,
    regex_problem,
)
from monitor.model import (
    ALERT_KINDS,
    LANGUAGE_NAMES,
    AlertKind,
    Article,
    DigestPeriod,
    FigureSpec,
    FigureWords,
    Noise,
    Observation,
    Qualifier,
    QuietHours,
    Route,
)
from monitor.yamlfile import YamlDoc, parse_yaml, validate_doc

__all__ = [
    "Examples",
    "Explanation",
    "ExtractorFactory",
    "Matcher",
    "Watchlist",
    "check_examples",
    "load_watchlist_text",
    "load_watchlists",
]

NOTIFIERS = ("slack", "email", "console")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

# --- the schema -----------------------------------------------------------------------------


def _alias(value: object) -> Alias:
    if isinstance(value, str):
        if problem := phrase_problem(value):
            raise PydanticCustomError("alias", problem)
        return Phrase(value.strip())
    if isinstance(value, dict) and set(value) == {"regex"} and isinstance(value["regex"], str):
        if problem := regex_problem(value["regex"]):
            raise PydanticCustomError("alias", problem)
        return Pattern(value["regex"])
    raise PydanticCustomError(
        "alias",
        "an alias is a phrase (quote it if YAML reads it as a number or yes/no) "
        "or a mapping {regex: ...}",
    )


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("text", "expected non-empty text (quote numbers and yes/no)")
    return value.strip()


def _non_empty(what: str) -> Callable[[list[Any]], list[Any]]:
    def check(items: list[Any]) -> list[Any]:
        if not items:
            raise PydanticCustomError("empty", f"must list at least one {what}")
        return items

    return check


AliasField = Annotated[Alias, BeforeValidator(_alias)]
Text = Annotated[str, BeforeValidator(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class TogetherModel(_Strict):
    groups: list[str]
    sentences: int = Field(1, ge=1, le=5)
    unless: list[str] = Field(default_factory=list)


class MatchModel(_Strict):
    all_of: list[str] = Field(default_factory=list)
    any_of: list[str | list[str] | TogetherModel] = Field(default_factory=list)
    none_of: list[str] = Field(default_factory=list)
    together: list[list[str] | TogetherModel] = Field(default_factory=list)


def _clock(value: object) -> time:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 22:00 as the sexagesimal number 1320
        return time(value // 60, value % 60)
    if isinstance(value, str) and (found := re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)):
        hour, minute = int(found[1]), int(found[2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise PydanticCustomError("clock", 'expected a time of day as HH:MM, e.g. "07:30"')


def _zone(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("zone", "expected a time zone name, e.g. Europe/Kyiv or UTC")
    try:
        ZoneInfo(value.strip())
    except (ValueError, ZoneInfoNotFoundError):
        raise PydanticCustomError(
            "zone",
            f"unknown time zone {value!r} (use an IANA name like Europe/Kyiv)",
        ) from None
    return value.strip()


Clock = Annotated[time, BeforeValidator(_clock)]
Zone = Annotated[str, BeforeValidator(_zone)]


class RouteModel(_Strict):
    notifier: str
    channel: Text | None = None
    to: list[Text] = Field(default_factory=list)
    digest: DigestPeriod | None = None
    digest_kinds: list[str] = Field(default_factory=lambda: ["new_item"])
    digest_at: Clock = time(8, 0)
    timezone: Zone = "UTC"


class QuietHoursModel(_Strict):
    start: Clock
    end: Clock
    timezone: Zone = "UTC"
    kinds: list[str] = Field(default_factory=lambda: [str(kind) for kind in ALERT_KINDS])


class NoiseModel(_Strict):
    max_per_hour: int | None = Field(None, ge=1)
    quiet_hours: QuietHoursModel | None = None
    min_outlets: int = Field(1, ge=1)


class FigureModel(_Strict):
    unit: Text
    cues: Annotated[list[Text], AfterValidator(_non_empty("cue"))]
    subjects: Annotated[list[Text], AfterValidator(_non_empty("subject"))]
    units: list[Text] = Field(default_factory=list)
    exclude: list[Text] = Field(default_factory=list)
    percent: bool = True
    money: bool = False
    tolerance: float = Field(0.0, ge=0)


class FigureWordsModel(_Strict):
    cues: Annotated[list[Text], AfterValidator(_non_empty("cue"))]
    subjects: list[Text] = Field(default_factory=list)
    units: list[Text] = Field(default_factory=list)


class ExpectedModel(_Strict):
    figure: str
    low: float
    high: float
    unit: Text | None = None
    qualifier: Qualifier | None = None


class FigureExampleModel(_Strict):
    text: Text
    expect: Annotated[list[ExpectedModel], AfterValidator(_non_empty("expected figure"))]


class ExamplesModel(_Strict):
    match: list[Text] = Field(default_factory=list)
    no_match: list[Text] = Field(default_factory=list)
    figures: list[FigureExampleModel] = Field(default_factory=list)


def _language_alias(value: object) -> Alias:
    """A phrase ending in ``*`` is a stem ("Северн* Коре*"): any ending, for languages
    whose words inflect or take particles ("북한*" finds 북한군은, 북한이)."""
    if isinstance(value, str) and "*" in value:
        if not value.strip()[:1].isalnum():
            raise PydanticCustomError("alias", f"stem {value!r} must start with a letter")
        return Pattern(stem_regex(value))
    return _alias(value)


def stem_regex(stem: str) -> str:
    """The regex of a stem alias: each ``*`` any word ending, a space any separator run."""
    parts = [re.escape(word).replace(r"\*", r"\w*") for word in stem.split()]
    return r"[\s\-]+".join(parts)


LanguageAlias = Annotated[Alias, BeforeValidator(_language_alias)]


class LanguageModel(_Strict):
    """A watchlist's words in one more language: more aliases for its groups, the
    figures' words, and examples in that language."""

    terms: dict[str, list[LanguageAlias]] = Field(default_factory=dict)
    figures: dict[str, FigureWordsModel] = Field(default_factory=dict)
    examples: ExamplesModel = ExamplesModel()


class WatchlistModel(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    terms: Annotated[
        dict[str, Annotated[list[AliasField], AfterValidator(_non_empty("alias"))]],
        AfterValidator(_non_empty("group")),
    ]
    match: MatchModel
    alerts: list[str] = Field(default_factory=lambda: [str(kind) for kind in ALERT_KINDS])
    routes: list[RouteModel] = Field(default_factory=list)
    figures: dict[str, FigureModel] = Field(default_factory=dict)
    noise: NoiseModel = NoiseModel()
    max_age: MaxAge | None = None  # overrides the feed's and alerts.max_age
    examples: ExamplesModel = ExamplesModel()
    languages: dict[str, LanguageModel] = Field(default_factory=dict)


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
    if route.notifier not in NOTIFIERS:
        return [f"unknown notifier {route.notifier!r} ({', '.join(NOTIFIERS)})"]
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


# --- examples as tests ----------------------------------------------------------------------


class FigureExtracting(Protocol):
    def extract(self, article: Article) -> list[Observation]: ...


ExtractorFactory = Callable[[Sequence[FigureSpec]], FigureExtracting]


def check_examples(
    watchlists: Sequence[Watchlist], extractor_factory: ExtractorFactory | None = None
) -> list[Problem]:
    """Run every watchlist's examples; each failure is a Problem at the example's line.

    ``extractor_factory`` builds a figure extractor from specs (default:
    ``monitor.figures.FigureExtractor``); it is only needed for figure examples.
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
    watchlist: Watchlist, extractor_factory: ExtractorFactory | None
) -> list[Problem]:
    if extractor_factory is None:
        try:
            from monitor.figures import FigureExtractor  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            line = watchlist.examples.figures[0].line
            return [Problem(watchlist.path, line, "figure examples not run: no figure extractor")]
        extractor_factory = FigureExtractor
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
    return " ".join(x for x in (expected.figure, _span(expected.low, expected.high), *extra) if x)


def _got(observations: Sequence[Observation]) -> str:
    if not observations:
        return "no figures"
    return "; ".join(
        f"{o.figure} {_span(o.low, o.high)} {o.unit} ({o.qualifier})" for o in observations
    )


def _span(low: float, high: float) -> str:
    def number(value: float) -> str:
        return f"{int(value):,}" if value == int(value) else f"{value:,.1f}"

    return number(low) if low == high else f"{number(low)}–{number(high)}"
