"""Recall of the LSH band keys (monitor.identity.sketch) for syndicated copies, by number of bands.

    .venv/bin/python bench/band_recall.py [--pairs 4000] [--seed 7]

A story is joined when a candidate's sketch agrees on at least half its positions
(``monitor.pipeline.ingest.MIN_SIMILARITY``), but only stories sharing a band key are candidates.
For 24, 16 and 12 bands of ``BAND_ROWS`` positions (the first 2·b positions of the same
48-position sketch), this prints:

- recall: of the pairs whose estimated similarity is at least 0.5 (the sketch would join
  them), the fraction sharing at least one band key (so a lookup finds them);
- false candidates: of the pairs below 0.5, the fraction sharing a key (read and verified
  for nothing) and the mean number of keys they share.

Texts are articles built from the sentences of the seed documents (../shared/seeds, as
bench_matching.py reads them): 40 to 800 words in paragraphs, with a headline line and
sometimes an outlet's boilerplate. Syndicated copies are made by the edits agencies and
outlets make (another headline, boilerplate added or removed, the last paragraph trimmed,
a few words changed, sentences reordered, and combinations), at random strengths so that
the similarity spans the threshold. Unrelated pairs are two articles of disjoint sentences
wrapped in the same outlet's boilerplate. Everything is seeded: runs are reproducible.
"""

from __future__ import annotations

import argparse
import random
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from pathlib import Path

from monitor.identity.sketch import (
    BAND_ROWS,
    BANDS,
    SHINGLE,
    sketch_bands,
    sketch_similarity,
    text_sketch,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
CONFIGS = (24, 16, 12)  # bands of BAND_ROWS positions compared
THRESHOLD = 0.5  # monitor.pipeline.ingest.MIN_SIMILARITY
BOILERPLATE = {
    "daily": (
        "Daily Herald | World | Europe",
        "Sign up for our morning newsletter to get the day's most important stories delivered"
        " to your inbox before breakfast. Follow our live coverage on the website and in the"
        " app, where our reporters answer your questions every weekday afternoon.",
    ),
    "agency": (
        "AGENCY WIRE —",
        "Copyright 2026 Agency Wire. All rights reserved. This material may not be published,"
        " broadcast, rewritten or redistributed without permission. Reporting by our"
        " correspondents; editing by the world desk.",
    ),
    "portal": (
        "Portal News / International",
        "Read more: the latest on the war in Ukraine, in our special section. Did you find"
        " this article useful? Share it with your friends and family, and subscribe to our"
        " channel to receive breaking news as it happens. Advertisement.",
    ),
}
FILLER = ["the", "of", "said", "officials", "report", "military", "war", "new", "troops"]


@dataclass(frozen=True)
class Article:
    headline: str
    paragraphs: tuple[tuple[str, ...], ...]  # sentences by paragraph
    outlet: str | None = None  # whose boilerplate surrounds the text

    def text(self) -> str:
        parts = [" ".join(p) for p in self.paragraphs]
        if self.outlet:
            header, footer = BOILERPLATE[self.outlet]
            parts = [header, *parts, footer]
        return "\n\n".join([self.headline, *parts])


def load_sentences(seeds: Path) -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt")))
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    unique = dict.fromkeys(s.strip() for s in sentences if len(s.split()) >= 6)
    return list(unique)


def make_article(rng: random.Random, pool: Sequence[str], outlet: str | None) -> Article:
    target = rng.choice((40, 60, 90, 150, 250, 400, 800))  # words
    picked: list[str] = []
    for sentence in rng.sample(list(pool), len(pool)):
        if sum(len(s.split()) for s in picked) >= target:
            break
        picked.append(sentence)
    paragraphs: list[tuple[str, ...]] = []
    while picked:
        size = rng.randint(1, 4)
        paragraphs.append(tuple(picked[:size]))
        picked = picked[size:]
    headline = " ".join(rng.sample(pool[rng.randrange(len(pool))].split(), 6))
    return Article(headline, tuple(paragraphs), outlet)


# ----------------------------------------------------------------------------- edits


def new_headline(rng: random.Random, a: Article) -> Article:
    words = a.headline.split()
    rng.shuffle(words)
    return Article(" ".join([*rng.sample(FILLER, 3), *words[:4]]), a.paragraphs, a.outlet)


def add_boilerplate(rng: random.Random, a: Article) -> Article:
    others = [o for o in BOILERPLATE if o != a.outlet]
    return Article(a.headline, a.paragraphs, rng.choice(others))


def remove_boilerplate(rng: random.Random, a: Article) -> Article:
    return Article(a.headline, a.paragraphs, None)


def trim_end(rng: random.Random, a: Article) -> Article:
    keep = max(1, len(a.paragraphs) - rng.choice((1, 1, 2)))
    return Article(a.headline, a.paragraphs[:keep], a.outlet)


def change_words(rng: random.Random, a: Article) -> Article:
    rate = rng.choice((0.01, 0.02, 0.04, 0.07, 0.1))  # of the words, replaced or dropped
    paragraphs = []
    for paragraph in a.paragraphs:
        sentences = []
        for sentence in paragraph:
            words = [
                (rng.choice(FILLER) if rng.random() < 0.5 else "") if rng.random() < rate else w
                for w in sentence.split()
            ]
            sentences.append(" ".join(w for w in words if w))
        paragraphs.append(tuple(sentences))
    return Article(a.headline, tuple(paragraphs), a.outlet)


def reorder(rng: random.Random, a: Article) -> Article:
    paragraphs = [list(p) for p in a.paragraphs]
    for _ in range(rng.choice((1, 2, 3))):
        if len(paragraphs) >= 2 and rng.random() < 0.5:
            i, j = rng.sample(range(len(paragraphs)), 2)
            paragraphs[i], paragraphs[j] = paragraphs[j], paragraphs[i]
        else:
            rng.shuffle(rng.choice(paragraphs))
    return Article(a.headline, tuple(tuple(p) for p in paragraphs), a.outlet)


EDITS: dict[str, Callable[[random.Random, Article], Article]] = {
    "headline": new_headline,
    "boilerplate added": add_boilerplate,
    "boilerplate removed": remove_boilerplate,
    "last paragraph trimmed": trim_end,
    "words changed": change_words,
    "sentences reordered": reorder,
}


def combined(rng: random.Random, a: Article) -> Article:
    for name in rng.sample(sorted(EDITS), rng.choice((2, 3, 4))):
        a = EDITS[name](rng, a)
    return a


# ----------------------------------------------------------------------------- measuring


def band_keys(sketch: Sequence[int], bands: int) -> set[int]:
    """The keys of the first ``bands`` bands, as ``sketch_bands`` computes each band's."""
    pack = struct.Struct(f"<H{BAND_ROWS}q").pack
    return {
        int.from_bytes(
            blake2b(pack(b, *sketch[b * BAND_ROWS : (b + 1) * BAND_ROWS]), digest_size=8).digest(),
            "big",
        )
        & ((1 << 63) - 1)
        for b in range(bands)
    }


def shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.casefold())
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


@dataclass
class Pair:
    kind: str
    jaccard: float  # of the shingle sets
    estimate: float  # of the sketches
    shared: dict[int, int]  # bands -> keys shared


def measure(kind: str, a: str, b: str) -> Pair | None:
    sa, sb = text_sketch(a), text_sketch(b)
    if not sa or not sb:
        return None  # too short for a sketch: matched by exact text only
    x, y = shingles(a), shingles(b)
    shared = {n: len(band_keys(sa, n) & band_keys(sb, n)) for n in CONFIGS}
    return Pair(kind, len(x & y) / len(x | y), sketch_similarity(sa, sb), shared)


def generate(pool: Sequence[str], pairs: int, seed: int) -> list[Pair]:
    rng = random.Random(seed)
    outlets: list[str | None] = [None, *BOILERPLATE]
    edits = {**EDITS, "combined": combined}
    out: list[Pair] = []
    for n in range(pairs):
        original = make_article(rng, pool, rng.choice(outlets))
        kind = list(edits)[n % len(edits)]
        pair = measure(kind, original.text(), edits[kind](rng, original).text())
        if pair:
            out.append(pair)
        # Unrelated: disjoint sentences, the same outlet's boilerplate.
        half = rng.sample(list(pool), len(pool))
        outlet = rng.choice(list(BOILERPLATE))
        a = make_article(rng, half[: len(half) // 2], outlet)
        b = make_article(rng, half[len(half) // 2 :], outlet)
        if pair := measure("unrelated, same boilerplate", a.text(), b.text()):
            out.append(pair)
    return out


def report(pairs: Sequence[Pair]) -> None:
    copies = [p for p in pairs if p.estimate >= THRESHOLD]
    others = [p for p in pairs if p.estimate < THRESHOLD]
    head = " | ".join(f"{n} bands" for n in CONFIGS)
    print(f"\nRecall: pairs with estimated J >= {THRESHOLD} sharing a band key\n")
    print(f"| pairs | n | est. J (median) | {head} |")
    print("|---" * (3 + len(CONFIGS)) + "|")
    groups: dict[str, list[Pair]] = {}
    for p in copies:
        groups.setdefault(p.kind, []).append(p)
    for low, high in ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 1.01)):
        groups[f"est. J in [{low}, {min(high, 1.0)})"] = [
            p for p in copies if low <= p.estimate < high
        ]
    groups["all copies"] = copies
    for name, group in groups.items():
        if not group:
            continue
        median = sorted(p.estimate for p in group)[len(group) // 2]
        cells = " | ".join(_recall(group, n) for n in CONFIGS)
        print(f"| {name} | {len(group)} | {median:.2f} | {cells} |")
    print(f"\nFalse candidates: pairs with estimated J < {THRESHOLD} sharing a band key\n")
    print(f"| pairs | n | est. J (median) | {head} |")
    print("|---" * (3 + len(CONFIGS)) + "|")
    unrelated = [p for p in others if p.kind.startswith("unrelated")]
    for name, group in (("unrelated, same boilerplate", unrelated), ("all below 0.5", others)):
        median = sorted(p.estimate for p in group)[len(group) // 2]
        cells = " | ".join(
            f"{sum(1 for p in group if p.shared[n]) / len(group):.1%}"
            f" ({sum(p.shared[n] for p in group) / len(group):.2f} keys)"
            for n in CONFIGS
        )
        print(f"| {name} | {len(group)} | {median:.2f} | {cells} |")
    joined = [p for p in pairs if p.kind.startswith("unrelated") and p.estimate >= THRESHOLD]
    print(f"\nUnrelated pairs at or above {THRESHOLD} (short texts, boilerplate): {len(joined)}")
    noise = [abs(p.estimate - p.jaccard) for p in pairs]
    print(f"Sketch noise |est. J - J|: median {sorted(noise)[len(noise) // 2]:.3f}")
    print("\nModel (positions agree independently with probability J; 50,000 trials each):\n")
    print(f"| J | P(est. J >= {THRESHOLD}) | " + " | ".join(f"{n}: recall" for n in CONFIGS) + " |")
    print("|---" * (2 + len(CONFIGS)) + "|")
    rng = random.Random(1)
    for j in (0.4, 0.5, 0.6, 0.8):
        above, recall = _model(rng, j)
        print(f"| {j} | {above:.3f} | " + " | ".join(f"{recall[n]:.4f}" for n in CONFIGS) + " |")


def _recall(group: Sequence[Pair], bands: int) -> str:
    found = sum(1 for p in group if p.shared[bands])
    return f"{found / len(group):.2%} ({len(group) - found} missed)"


def _model(rng: random.Random, j: float, trials: int = 50_000) -> tuple[float, dict[int, float]]:
    """P(est. J >= threshold), and per number of bands P(a shared band | est. J >= threshold)."""
    size = BAND_ROWS * max(CONFIGS)
    above = 0
    hits = dict.fromkeys(CONFIGS, 0)
    for _ in range(trials):
        agree = [rng.random() < j for _ in range(size)]
        if sum(agree) < THRESHOLD * size:
            continue
        above += 1
        whole = [all(agree[b * BAND_ROWS : (b + 1) * BAND_ROWS]) for b in range(max(CONFIGS))]
        for n in CONFIGS:
            hits[n] += any(whole[:n])
    return above / trials, {n: hits[n] / max(above, 1) for n in CONFIGS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4000, help="edited copies (and unrelated)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="directory of *.txt texts")
    args = parser.parse_args()
    sample = text_sketch(" ".join(f"w{i}" for i in range(100)))
    assert band_keys(sample, BANDS) == set(sketch_bands(sample))  # the same keys as storage's
    pool = load_sentences(args.seeds)
    print(f"{len(pool)} sentences from {args.seeds}")
    report(generate(pool, args.pairs, args.seed))


if __name__ == "__main__":
    main()
