"""The grammars newsmon reads, by ISO 639-1 code (an explicit table, no discovery)."""

from monitor.analysis.figures.languages.french import FRENCH
from monitor.analysis.figures.languages.german import GERMAN
from monitor.analysis.figures.languages.grammar import Grammar
from monitor.analysis.figures.languages.korean import KOREAN
from monitor.analysis.figures.languages.russian import RUSSIAN
from monitor.analysis.figures.languages.spanish import SPANISH
from monitor.analysis.figures.languages.ukrainian import UKRAINIAN

GRAMMARS: dict[str, Grammar] = {
    g.code: g for g in (GERMAN, SPANISH, FRENCH, KOREAN, RUSSIAN, UKRAINIAN)
}


def grammar_of(language: str | None) -> Grammar | None:
    """The grammar of ``language`` ("de", "ko-KR"), None for English or one not read."""
    if not language:
        return None
    return GRAMMARS.get(language.split("-")[0].split("_")[0].lower())
