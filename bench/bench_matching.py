"""Matching throughput: articles per second on one core.

    .venv/bin/python bench/bench_matching.py

Two setups: the shipped watchlists, and 200 generated watchlists of 20 terms each (4,000
aliases). Articles are the seed documents when /work/shared/seeds exists, else generated text.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from monitor.analysis.matching import Matcher
from monitor.analysis.watchlist import Watchlist, load_watchlist_text, load_watchlists
from monitor.domain.model import Article

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
WORDS = [
    "army",
    "border",
    "brigade",
    "capital",
    "ceasefire",
    "convoy",
    "drone",
    "embassy",
    "envoy",
    "factory",
    "fleet",
    "harbor",
    "missile",
    "navy",
    "officer",
    "pipeline",
    "port",
    "rocket",
    "sanction",
    "satellite",
    "shell",
    "summit",
    "tank",
    "treaty",
    "troop",
    "uranium",
    "warship",
    "reactor",
    "refinery",
    "airbase",
    "corridor",
    "frontier",
    "garrison",
    "militia",
    "parliament",
    "province",
    "railway",
    "regiment",
    "reservist",
    "saboteur",
    "sniper",
    "tunnel",
]


def articles() -> list[Article]:
    if SEEDS.is_dir():
        texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    else:
        rng = random.Random(1)
        texts = [" ".join(rng.choice(WORDS) for _ in range(700)) for _ in range(5)]
    return [Article(title=t.partition("\n")[0], text=t) for t in texts]


def generated(count: int, terms: int, *, all_match: bool) -> list[Watchlist]:
    """``count`` watchlists of ``terms`` aliases: 17 rare two-word phrases and 3 common words.

    With ``all_match`` every watchlist matches every seed article (the worst case: every
    rule evaluated, every Match built); otherwise the common words are drawn from WORDS
    and only some watchlists match.
    """
    rng = random.Random(7)
    watchlists = []
    for n in range(count):
        rare = sorted({f"{rng.choice(WORDS)} {rng.choice(WORDS)}{n}" for _ in range(terms - 3)})
        common = ["North Korea", "Russia", "troops"] if all_match else rng.sample(WORDS, 3)
        text = (
            f"name: gen-{n}\nterms:\n  rare: {rare}\n  common: {common}\n"
            "match: {any_of: [rare, common]}\nalerts: []\n"
        )
        watchlists.append(load_watchlist_text(text, f"gen-{n}.yaml"))
    return watchlists


def rate(matcher: Matcher, docs: list[Article], seconds: float = 2.0) -> float:
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for doc in docs:
            matcher.match(doc)
        done += len(docs)
    return done / elapsed


def main() -> None:
    docs = articles()
    size = sum(len(d.full_text) for d in docs) // len(docs)
    shipped = load_watchlists(ROOT / "watchlists")
    print(f"articles: {len(docs)}, average {size:,} characters")
    for label, watchlists in [
        ("shipped watchlists", shipped),
        ("200 x 20, some match", generated(200, 20, all_match=False)),
        ("200 x 20, all match", generated(200, 20, all_match=True)),
    ]:
        start = time.perf_counter()
        matcher = Matcher(watchlists)
        compiled = time.perf_counter() - start
        print(f"{label:>20}: {rate(matcher, docs):8,.0f} articles/s (compiled in {compiled:.2f}s)")


if __name__ == "__main__":
    main()
