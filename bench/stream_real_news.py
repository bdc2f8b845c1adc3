"""Stream real on-topic news through ``newsmon run --once`` in date order and count the
figure_change alerts that were false, and the really new values that raised none.

    python bench/stream_real_news.py [--labels ../shared/realnews/dev.json]
                                     [--split all|dev|holdout] [--english]

Each labelled on-topic document with a publication date becomes one feed entry (its text
as the description, its date as pubDate); after each one is added, ``run --once`` polls the
local feed (SQLite, console notifier). At the end every stored observation that was
marked ``changed`` (it raised a figure_change) is judged against the labels:

- *true* when it matches a labelled (or tolerated) figure of its own document — figure,
  unit, overlapping range — and that labelled value overlaps no value labelled for the
  same figure and unit in an earlier document (it really was new);
- *false* otherwise (a misread number, or a value that was already known).

And every labelled value that was really new (no earlier document's label overlaps it,
and it is not dated in the past) is *missed* when no changed observation of its document
matches it. Traffic goes only to a server on 127.0.0.1 that this script starts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eval_figures import _same, documents  # noqa: E402

from monitor.cli.main import main as newsmon  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402


def rss(items: list[tuple[str, dict[str, Any], str]]) -> bytes:
    """An RSS 2.0 feed of ``(id, doc, text)``, newest first."""
    entries = []
    for doc_id, doc, text in reversed(items):
        published = datetime.fromisoformat(doc["published"] + "T12:00:00+00:00")
        entries.append(
            f"<item><title>{escape(doc.get('outlet', doc_id))} {doc_id}</title>"
            f"<link>http://news.test/{doc_id}</link><guid>{doc_id}</guid>"
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(text)}</description></item>"
        )
    body = "<rss version='2.0'><channel><title>real news</title>" + "".join(entries)
    return (body + "</channel></rss>").encode()


def run(config: Path, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        newsmon([*args, "--config", str(config)])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=ROOT.parent / "shared/realnews/dev.json")
    parser.add_argument("--split", choices=["all", "dev", "holdout"], default="all")
    parser.add_argument("--english", action="store_true")
    args = parser.parse_args(argv)
    docs = [
        (doc_id, doc, text)
        for doc_id, text, doc in documents(args.labels, args.split)
        if doc.get("watchlists")
        and doc.get("published")
        and (not args.english or doc.get("language", "en") == "en")
    ]
    docs.sort(key=lambda d: (d[1]["published"], d[0]))
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as server:
        config = Path(tmp) / "newsmon.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "database": {"url": f"sqlite:///{tmp}/stream.db"},
                    "watchlists": str(ROOT / "watchlists"),
                    "feeds": [
                        {
                            "url": server.url("/news.xml"),
                            "name": "real news",
                            "fetch_article": "never",
                        }
                    ],
                    "fetch": {"allow_private_networks": True},
                    "notifiers": {"console": {}},
                    # the articles are months old: as history they would raise nothing
                    "alerts": {"max_age": "off"},
                    "http": {"listen": None},
                    "log": {"level": "ERROR"},
                }
            )
        )
        for n in range(1, len(docs) + 1):
            server.add("/news.xml", rss(docs[:n]), content_type="application/rss+xml")
            run(config, "run", "--once")
        observations = json.loads(run(config, "figures", "--json"))
    report(docs, observations)
    return 0


def report(docs: list[tuple[str, dict[str, Any], str]], observations: list[dict[str, Any]]) -> None:
    by_doc = {doc_id: doc for doc_id, doc, _ in docs}
    order = [doc_id for doc_id, _, _ in docs]
    changed = [o for o in observations if o.get("changed")]
    false, true = [], []
    for obs in changed:
        doc_id = (obs["url"] or "").rsplit("/", 1)[-1]
        doc = by_doc[doc_id]
        labels = doc["figures"] + doc.get("tolerated", [])
        label = next((lab for lab in labels if _same(obs, lab)), None)
        earlier = [
            lab
            for d in order[: order.index(doc_id)]
            for lab in by_doc[d]["figures"] + by_doc[d].get("tolerated", [])
        ]
        if label is not None and not any(_same(label, e) for e in earlier):
            true.append((doc_id, obs))
        else:
            false.append((doc_id, obs))
    new_values, missed = 0, []
    for i, doc_id in enumerate(order):
        earlier = [lab for d in order[:i] for lab in by_doc[d]["figures"]]
        for label in by_doc[doc_id]["figures"]:
            if label.get("as_of") or any(_same(label, e) for e in earlier):
                continue
            new_values += 1
            hit = any((o["url"] or "").endswith("/" + doc_id) and _same(o, label) for o in changed)
            if not hit:
                missed.append((doc_id, label))
    for doc_id, obs in false:
        print(
            f"  FALSE CHANGE {doc_id}: {obs['figure']} {obs['low']:g}-{obs['high']:g} {obs['unit']}"
        )
    for doc_id, label in missed:
        print(f"  NO ALERT     {doc_id}: {label['figure']} {label['low']:g}-{label['high']:g}")
    print(
        f"{len(docs)} on-topic articles in date order: {len(changed)} changed values alerted,"
        f" {len(false)} false ({100 * len(false) / len(docs):.1f} per 100 articles);"
        f" {new_values - len(missed)}/{new_values} really new values alerted"
    )


if __name__ == "__main__":
    raise SystemExit(main())
