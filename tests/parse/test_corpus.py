"""parse_feed over every document in the shared feed corpus: no unhandled exception.

The corpus (/work/shared/corpus/feeds/, see its MANIFEST.md) holds ~2,700 feeds from the
test suites of feedparser, gofeed, miniflux, feedjira and rss-parser, many of them broken
on purpose. Every file must either parse (possibly with a bozo ``error``) or be refused
with FetchError; anything else is a bug. The summary is printed with ``-s``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.domain.errors import FetchError
from monitor.parse.feeds import parse_feed
from tests.support.paths import SHARED, shared

CORPUS = SHARED / "corpus" / "feeds"
SKIP = {"MANIFEST.md", "LICENSE"}


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in SKIP)


@pytest.mark.slow
def test_every_corpus_feed_parses_or_is_refused_cleanly() -> None:
    shared("corpus/feeds")
    counts: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    crashes: list[str] = []
    for path in corpus_files():
        content_type = "application/json" if path.suffix == ".json" else None
        try:
            feed = parse_feed(path.read_bytes(), url=path.as_uri(), content_type=content_type)
        except FetchError as exc:
            counts["refused"] += 1
            refused[str(exc).split(":")[0] + ": " + str(exc).split(":")[1].strip()[:40]] += 1
            continue
        except Exception as exc:
            crashes.append(f"{path.relative_to(CORPUS)}: {type(exc).__name__}: {exc}")
            continue
        counts["with entries" if feed.entries else "no entries"] += 1
        counts["bozo"] += feed.error is not None
        counts["entries"] += len(feed.entries)
    print(f"\ncorpus: {sum(counts[k] for k in ('with entries', 'no entries', 'refused'))} files")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    for reason, value in refused.most_common():
        print(f"  refused {value} × {reason}")
    assert not crashes, "\n".join(crashes[:20])
