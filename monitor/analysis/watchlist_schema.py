"""The YAML schema of a watchlist file: strict pydantic models (unknown keys are errors).

:mod:`monitor.analysis.watchlist` describes the format, checks what the schema cannot say
(groups used by rules, routes, figure examples) and builds the domain type from a model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from monitor.analysis.matching import Alias, Pattern, Phrase
from monitor.analysis.phrases import phrase_problem
from monitor.analysis.regex_aliases import regex_problem
from monitor.config.settings import MaxAge
from monitor.domain.model import ALERT_KINDS, DigestPeriod, Qualifier

__all__ = [
    "FigureModel",
    "MatchModel",
    "NoiseModel",
    "RouteModel",
    "TogetherModel",
    "WatchlistModel",
]

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


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
