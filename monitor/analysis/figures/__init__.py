"""Read tracked figures from an article (pure, no I/O): who did what to how many.

For every number the reader finds the noun phrase it counts, the predicate that phrase
belongs to, and assigns the one figure whose cue is that predicate and whose subject is
what is counted. The vocabulary of each figure — its cues (killed, sent, supplied), its
subjects (North Korean, KPA) and its counted nouns (soldiers, sappers, shells) — is data in
the watchlists; the grammar every figure shares is in :mod:`.vocabulary`. There is no
dependency parser: none installs from the package registries with a model that runs here
offline, and news copy (headlines, bullets, tables, wire styles) is where such parsers are
weakest. A shallow reading of phrases and clauses, with the rules below, is small, fast
(thousands of articles a second) and each rule can be tested with one sentence.

Rules, in order:

1. Only sentences holding a number (digits or a number word) are read (:mod:`.scan`).
   Years, dates, times, ages, distances, calibres ("152-mm"), money, list numbering, page
   furniture and labels are not figures.
2. The counted noun follows the number across modifiers ("1,500 North Korean special
   forces", "10,000 Democratic People's Republic of Korea (DPRK) troops"); a capitalised
   word that names nothing we know is itself the noun ("the two Koreas"): not ours. A
   partitive takes the noun of its whole ("3,000 of the 10,000 soldiers sent"; "800 of
   them" takes the noun named before); the whole of "two out of five missiles" is a total
   of everything, no figure. A counted noun can be the cue itself ("600 deaths"); "nine
   members of the regiment" are soldiers; "munitions" are counted as munitions, not shells.
3. The predicate: the cue right after the counted noun phrase across auxiliaries and
   adverbs ("were reportedly killed") or right before the number ("killed some 240",
   "dispatched a total of") — the number's own predicate — before any cue merely nearby.
   A participle after the noun gives way to a finite verb after it ("2,000 soldiers
   deployed to Kursk are believed to have been killed"); a counted noun that is the
   subject of a verb no cue names is not read through a cue nearby ("only two of them were
   accurate"). A place ("in Kursk") is the weakest cue.
4. One number, one figure: when the predicate fits several figures (sent: troops or
   engineers?) the counted noun chooses; if it cannot, the number is not read.
5. Subject: a nationality in the counted noun phrase decides ("600,000 Russian
   soldiers"); else the nearest subject-like mention in the sentence that is not inside an
   attribution nor governed by a preposition or a verb of help ("to help Russia"); a
   sentence without any takes the subject of the sentences before it. A share of supplies
   belongs to the supplier its clause names, not the user beside it ("35 percent of
   Russia's ammunition comes from North Korea").
6. Negated, hypothetical and merely possible statements ("denied", "if", "could send")
   yield nothing; a phrase fronted by a comma ("If confirmed, …") does not reach the
   figure, and "would" is reported speech's "will".
7. ``attributed_to`` (:mod:`.attribution`) is the outer clause's source: the speaker of a
   "that" clause over a source cited inside it, an "according to" opening the sentence,
   an attribution closing it ("…, according to the ministry.", "…, reports The Times,
   citing …") over one before the figure; a list of sources is one ("U.S., South Korean
   and Ukrainian intelligence"). ``as_of`` (:mod:`.dates`): "since November" starts a
   running total, today's value, not history.
8. Durations are days: a week 7, a month 28 to 31, a year 365 or 366 ("six months" is
   168–186 days).
"""

from monitor.analysis.figures.extractor import (
    FigureExtractor,
    drop_subsumed,
)

__all__ = ["FigureExtractor", "drop_subsumed"]
