"""Figures in the languages a story is reported in besides English.

One module per language holds its number forms, qualifiers and grammar words as a
:class:`~monitor.analysis.figures.languages.grammar.Grammar`; what a figure's cues, subjects and
counted nouns are in that language is data in the watchlists (``languages:``). The reading
(:mod:`.reader`) is the English reader's rules made shallow enough to hold in six
languages: the number's counted noun right after it, the nearest cue of a figure in its
clause, the subject in its noun phrase or else the nearest one named before it.

Number words and forms are written here by hand: text2num reads French, Spanish and
German number words but not Korean, Russian or Ukrainian, nor vague amounts, qualifiers or
character offsets, which are what a figure needs; each language's table is a few lines.
"""

from monitor.analysis.figures.languages.grammar import Grammar
from monitor.analysis.figures.languages.registry import GRAMMARS, grammar_of

__all__ = ["GRAMMARS", "Grammar", "grammar_of"]
