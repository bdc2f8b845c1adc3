"""The grammars newsmon reads, by ISO 639-1 code (an explicit table, no discovery)."""

from monitor.figures.languages.french import FRENCH
from monitor.figures.languages.german import GERMAN
from monitor.figures.languages.grammar import Grammar
from monitor.figures.languages.korean import KOREAN
from monitor.figures.languages.russian import RUSSIAN
from monitor.figures.languages.spanish import SPANISH
from monitor.figures.languages.ukrainian import UKRAINIAN

GRAMMARS: dict[str, Grammar] = {
    g.code: g for g in (GERMAN, SPANISH, FRENCH, KOREAN, RUSSIAN, UKRAINIAN)
}


def grammar_of(language: str | None) -> Grammar | None:
    """The grammar of ``language`` ("de", "ko-KR"), None for English or one not read."""
    if not language:
        return None
    return GRAMMARS.get(language.split("-")[0].split("_")[0].lower())
