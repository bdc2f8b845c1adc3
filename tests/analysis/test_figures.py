"""monitor.analysis.figures: which numbers are tracked figures, with qualifier, source and quote."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.analysis.figures import FigureExtractor
from monitor.analysis.watchlist import load_watchlists
from monitor.domain.model import Article, FigureSpec
from tests.support.paths import REPO, SHARED, shared

DEV_SET = json.loads((REPO / "tests" / "data" / "figures" / "dev_set.json").read_text())[
    "documents"
]
SEEDS = SHARED / "seeds"


def _specs() -> list[FigureSpec]:
    """The shipped watchlists' figures, as the service loads them."""
    return [spec for wl in load_watchlists(REPO / "watchlists") for spec in wl.figures]


EXTRACTOR = FigureExtractor(_specs())


def _found(text: str) -> set[tuple[Any, ...]]:
    return {
        (o.figure, o.low, o.high, o.unit, o.qualifier)
        for o in EXTRACTOR.extract(Article(title="", text=text))
    }


def _expected(figures: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(f["figure"], f["low"], f["high"], f["unit"], f["qualifier"]) for f in figures}


@pytest.mark.parametrize("doc_id", sorted(DEV_SET))
def test_dev_set_passage_yields_exactly_its_labelled_figures(doc_id: str) -> None:
    doc = DEV_SET[doc_id]
    assert _found(doc["text"]) == _expected(doc["figures"])


@pytest.mark.parametrize("doc_id", sorted(DEV_SET))
def test_dev_set_attribution_and_increment(doc_id: str) -> None:
    doc = DEV_SET[doc_id]
    observations = EXTRACTOR.extract(Article(title="", text=doc["text"]))
    for label in doc["figures"]:
        obs = next(o for o in observations if (o.figure, o.low) == (label["figure"], label["low"]))
        assert obs.increment == label.get("increment", False)
        if doc_id in (
            "digits_partitive",
            "at_least",
            "one_in_three",
            "past_dated",
            "increment_another",
        ):
            assert obs.attributed_to == label["attributed_to"]


def test_quote_is_a_verbatim_span_of_the_text() -> None:
    for doc in DEV_SET.values():
        for obs in EXTRACTOR.extract(Article(title="", text=doc["text"])):
            assert obs.quote and obs.quote in doc["text"]


def test_partitive_gives_head_and_inner_numbers_their_own_figures() -> None:
    text = (
        "Zelensky said at least 3,000 of the 10,000 North Korean soldiers sent to the front died."
    )
    assert _found(text) == {
        ("nk_killed", 3000, 3000, "people", "at_least"),
        ("nk_troops_deployed", 10000, 10000, "people", "exact"),
    }


def test_competing_nationality_in_the_noun_phrase_vetoes() -> None:
    assert (
        _found("North Korean troops joined as 600,000 Russian soldiers have lost their lives.")
        == set()
    )


def test_negated_and_hypothetical_statements_yield_nothing() -> None:
    assert _found("Pyongyang denied that 1,000 North Korean troops were sent.") == set()
    assert _found("If 1,000 North Korean troops were sent, the war would change.") == set()


def test_headline_repeated_three_times_yields_each_figure_once() -> None:
    line = "North Korea sent 10,000 soldiers to Russia"
    observations = EXTRACTOR.extract(Article(title=line, text=f"{line}\n{line}\n{line}"))
    assert [(o.figure, o.low) for o in observations] == [("nk_troops_deployed", 10000)]


def test_past_month_sets_as_of_from_publication_year() -> None:
    from datetime import datetime

    article = Article(
        title="",
        text="In January, Seoul estimated that 300 North Korean soldiers had been killed.",
        published_at=datetime(2025, 6, 1),
    )
    (obs,) = EXTRACTOR.extract(article)
    assert obs.as_of is not None and (obs.as_of.year, obs.as_of.month) == (2025, 1)


def test_running_total_by_a_date_is_not_dated() -> None:
    (obs,) = EXTRACTOR.extract(
        Article(
            title="",
            text="By mid-January, over 40% of the North Korean soldiers deployed "
            "had suffered casualties.",
        )
    )
    assert obs.as_of is None and obs.qualifier == "over" and obs.unit == "percent"


def test_deployment_in_months_is_stored_in_days_as_a_range_of_month_lengths() -> None:
    assert ("deployment_days", 84, 93, "days", "exact") in _found(
        "The North Korean engineers' demining mission lasted three months."
    )


def test_seed_documents_yield_exactly_the_labelled_figures() -> None:
    labels = json.loads(shared("seeds/figures.json").read_text())["documents"]
    for name, doc in labels.items():
        found = _found((SEEDS / name).read_text())
        tolerated = {
            (t["figure"], t["low"], t["high"], t["unit"]) for t in doc.get("tolerated", [])
        }
        found = {f for f in found if f[:4] not in tolerated}
        assert found == _expected(doc["figures"]), name


def _score(label_file: str) -> tuple[float, float]:
    """(precision, recall) of the extractor on a labelled file, as bench/eval_figures.py."""
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from eval_figures import predict_direct, score_document

    docs = json.loads((REPO / "tests" / "data" / "figures" / label_file).read_text())
    tp = fp = fn = 0
    for doc in docs["documents"].values():
        hits, misses, alarms = score_document(predict_direct(EXTRACTOR, doc["text"]), doc)
        tp, fn, fp = tp + len(hits), fn + len(misses), fp + len(alarms)
    return tp / (tp + fp), tp / (tp + fn)


def test_held_out_set_stays_above_the_quality_target() -> None:
    precision, recall = _score("heldout.json")
    assert precision >= 0.90 and recall >= 0.85, (precision, recall)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an increment word after the number keeps the counted noun ("more troops")
        (
            "Some 3,000 more North Korean troops have arrived in Russia.",
            {("nk_troops_deployed", 3000, 3000, "people", "about")},
        ),
        # the verb, not the increment word, decides the figure
        (
            "North Korea lost around 600 soldiers dead, while another 1,200 are wounded.",
            {
                ("nk_killed", 600, 600, "people", "about"),
                ("nk_wounded", 1200, 1200, "people", "exact"),
            },
        ),
        # the recipient of a supply verb is not the subject
        (
            "North Korea has supplied Russia with some 100 ballistic missiles.",
            {("kn23_missiles", 100, 100, "missiles", "about")},
        ),
        # a linking verb before a bare number: the toll is what is counted
        (
            "The death toll among North Korean troops has reached 1,000.",
            {("nk_killed", 1000, 1000, "people", "exact")},
        ),
        # a table under a heading: the label is the cue, the heading the subject
        (
            "North Korea in Russia, key figures:\n- Troops deployed: 11,000\n- Killed: about 300",
            {
                ("nk_troops_deployed", 11000, 11000, "people", "exact"),
                ("nk_killed", 300, 300, "people", "about"),
            },
        ),
        # a percentage that counts nothing is not a share of a figure
        ("The KOSPI fell 2.4% after reports that North Korea had sent troops.", set()),
        # a number in a compound adjective modifies another noun
        ("A 12-member North Korean delegation arrived in Moscow.", set()),
        # projected changes and inverted conditionals are not figures
        ("North Korean losses could rise to tens of thousands.", set()),
        ("Should Pyongyang send as many as 100,000 troops, Russia could rest.", set()),
        # ages
        (
            "Two North Korean prisoners, aged 20 and 26, were questioned after being captured.",
            {("nk_captured", 2, 2, "people", "exact")},
        ),
    ],
)
def test_general_mechanisms(text: str, expected: set[tuple[Any, ...]]) -> None:
    assert _found(text) == expected


def test_share_whose_relative_clause_names_the_user_not_the_source() -> None:
    text = "Around 60% of the shells Russia fires in Ukraine came from North Korea, officials said."
    assert ("artillery_shells", 60, 60, "percent", "about") in _found(text)


def test_a_value_in_headline_and_body_keeps_the_body_attribution() -> None:
    article = Article(
        title="Zelensky: at least 3,000 North Korean soldiers killed in Kursk",
        text="President Volodymyr Zelensky said on Monday that at least 3,000 North Korean "
        "soldiers have been killed in Russia's Kursk region.",
    )
    killed = [o for o in EXTRACTOR.extract(article) if o.figure == "nk_killed"]
    assert [(o.low, o.attributed_to) for o in killed] == [(3000, "Volodymyr Zelensky")]


@pytest.mark.parametrize(
    ("text", "figure", "source"),
    [
        # "an estimated" is an adjective, not a verb: the source is who said it
        ("An estimated 5,000 North Korean soldiers have been wounded so far, NATO said.",
         "nk_wounded", "NATO"),
        # a live-blog time stamp or a dateline before a dash is not part of the source; an
        # acronym in brackets after the name is (as labelled on real news)
        ("14:05 GMT – Ukraine's defence intelligence (GUR) says 2,000 more North Korean troops "
         "have arrived in Russia.", "nk_troops_deployed", "Ukraine's defence intelligence (GUR)"),
        ("KYIV, Ukraine (AP) — Ukrainian officials said 700 North Korean soldiers were killed.",
         "nk_killed", "Ukrainian officials"),
        # a person named before their title; an outlet named before its description
        ("Choi Min-su, a lawmaker on the intelligence committee, said 2,500 North Korean "
         "soldiers had been sent to Russia.", "nk_troops_deployed", "Choi Min-su"),
        ("Yonhap, the South's largest news agency, said 400 North Korean soldiers were killed.",
         "nk_killed", "Yonhap"),
        # adverbs after the name, lower-case institutions
        ("Seoul now believes 9,000 North Korean troops have been sent to Russia.",
         "nk_troops_deployed", "Seoul"),
        ("About 800 North Korean soldiers were killed in March, the general staff said.",
         "nk_killed", "general staff"),
        # "its estimate" is a noun, and who updates it states the figure
        ("The spy agency has updated its estimate: 1,100 North Korean soldiers were killed.",
         "nk_killed", "spy agency"),
        # the number itself is never its own source
        ("Two North Korean prisoners, aged 21 and 24, said they had been captured in Kursk.",
         "nk_captured", None),
    ],
)  # fmt: skip
def test_attribution_names_who_states_the_figure(
    text: str, figure: str, source: str | None
) -> None:
    found = [o for o in EXTRACTOR.extract(Article(title="", text=text)) if o.figure == figure]
    assert found, f"no {figure} in {text!r}"
    assert {o.attributed_to for o in found} == {source}
