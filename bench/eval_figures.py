"""Score figure extraction and topic matching against hand labels.

    python bench/eval_figures.py [--labels PATH ...] [--split all|dev|holdout]
                                 [--via direct|pipeline|cli] [--english] [--quiet]
                                 [--language xx ...] [--by-language]

A label file is {"documents": {id: {"text"?: ..., "figures": [...], "not_figures": [...],
"tolerated"?: [...], "watchlists"?: [...], "watchlists_optional"?: [...],
"published"?: "YYYY-MM-DD", "language"?: "en"}}} (the schema of shared/seeds/figures.json
and shared/realnews/dev.json); a document without "text" is the file named by its id next
to the label file.

Figures: a predicted figure matches a labelled one when figure and unit are equal and the
ranges overlap; each label is matched at most once, duplicates of one prediction (the same
figure read for two watchlists) count once. Predictions matching a ``tolerated`` entry count
neither way. On the hits, the qualifier and the attribution (case and a leading "the"
aside) are scored too.

Topics: a document's predicted watchlists against its ``watchlists`` (required) and
``watchlists_optional`` (neither way).

``--via direct`` runs the FigureExtractor alone over the shipped watchlists' figures (no
matching); ``--via pipeline`` (default) reads the text as the service does: the watchlists
that match, and the figures of those watchlists only; ``--via cli`` runs
``python -m monitor inspect --json`` per document.

``--language xx`` (repeatable) scores the documents of those languages only;
``--by-language`` adds one summary line per language.

``--split``: the documents of a label file are split by a fixed rule into a development
part (two thirds) and a held-out third: ids sorted by their SHA-256, the first third held
out. Develop on ``dev``; score ``holdout`` only to report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.analysis.watchlist import load_watchlists  # noqa: E402
from monitor.cli.inspect import inspect_article  # noqa: E402
from monitor.domain.model import Article  # noqa: E402
from monitor.runtime.app import compile_watchlists  # noqa: E402

DEFAULT_LABELS = [
    ROOT.parent / "shared" / "seeds" / "figures.json",
    ROOT / "tests" / "data" / "figures" / "dev_set.json",
]


def documents(label_path: Path, split: str = "all") -> list[tuple[str, str, dict[str, Any]]]:
    labels = json.loads(label_path.read_text(encoding="utf-8"))
    held_out = holdout_ids(labels["documents"])
    docs = []
    for doc_id, doc in labels["documents"].items():
        if split != "all" and (doc_id in held_out) != (split == "holdout"):
            continue
        text = doc.get("text")
        if text is None:
            text = (label_path.parent / doc_id).read_text(encoding="utf-8")
        docs.append((doc_id, text, doc))
    return docs


def holdout_ids(ids: Any) -> set[str]:
    """The held-out third: ids sorted by SHA-256, the first third of them."""
    ordered = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    return set(ordered[: len(ordered) // 3])


def _published(doc: dict[str, Any]) -> datetime | None:
    value = doc.get("published")
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None


class Predictor:
    def __init__(self, via: str) -> None:
        self.via = via
        self.compiled = compile_watchlists(load_watchlists(ROOT / "watchlists"))

    def predict(self, text: str, doc: dict[str, Any]) -> dict[str, Any]:
        """``inspect --json``'s shape: {"watchlists": [{"name"}], "figures": [...]}."""
        if self.via == "cli":
            return predict_cli(text, doc.get("published"))
        article = Article(title="", text=text, published_at=_published(doc))
        if self.via == "pipeline":
            return inspect_article(article, self.compiled)
        figures = [o.to_json() for o in self.compiled.extractor.extract(article)]
        return {"watchlists": [], "figures": figures}


def predict_direct(extractor: Any, text: str) -> list[dict[str, Any]]:
    """The extractor's figures for ``text`` alone, as ``inspect --json`` lists them."""
    return [o.to_json() for o in extractor.extract(Article(title="", text=text))]


def predict_cli(text: str, published: str | None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
    command = [sys.executable, "-m", "monitor", "inspect", "--json", f.name]
    if published:
        command += ["--published", published]
    try:
        out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    finally:
        Path(f.name).unlink()
    return dict(json.loads(out.stdout))


def _same(pred: dict[str, Any], label: dict[str, Any]) -> bool:
    return (
        pred["figure"] == label["figure"]
        and pred["unit"] == label["unit"]
        and float(pred["low"]) <= float(label["high"]) + 1e-9
        and float(label["low"]) <= float(pred["high"]) + 1e-9
    )


def _source_key(source: str | None) -> str | None:
    """Sources compare without case or a leading "the" ("The Pentagon" = "Pentagon")."""
    if source is None:
        return None
    key = source.casefold().strip().replace("’", "'")
    return key[4:] if key.startswith("the ") else key


def score_document(
    preds: list[dict[str, Any]], doc: dict[str, Any]
) -> tuple[list[Any], list[Any], list[Any]]:
    """(hits, misses, false alarms) for one document."""
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for p in preds:
        unique.setdefault((p["figure"], p["unit"], p["low"], p["high"], p["qualifier"]), p)
    labels = list(doc.get("figures", []))
    tolerated = list(doc.get("tolerated", []))
    hits, alarms = [], []
    for p in unique.values():
        match = next((lab for lab in labels if _same(p, lab)), None)
        if match is not None:
            labels.remove(match)
            hits.append((p, match))
        elif not any(_same(p, t) for t in tolerated) and not any(_same(p, h[1]) for h in hits):
            alarms.append(p)
    return hits, labels, alarms


@dataclass
class Scores:
    figures: Counter[str] = field(default_factory=Counter)
    per_figure: dict[str, Counter[str]] = field(default_factory=dict)
    topics: Counter[str] = field(default_factory=Counter)
    qualifier_right: int = 0
    attribution_right: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, doc_id: str, result: dict[str, Any], doc: dict[str, Any]) -> None:
        hits, misses, alarms = score_document(result["figures"], doc)
        for kind, items in (("tp", hits), ("fn", misses), ("fp", alarms)):
            self.figures[kind] += len(items)
            for item in items:
                name = (item[0] if kind == "tp" else item)["figure"]
                self.per_figure.setdefault(name, Counter())[kind] += 1
        for p, lab in hits:
            self.qualifier_right += p["qualifier"] == lab.get("qualifier", p["qualifier"])
            if "attributed_to" not in lab or _source_key(p["attributed_to"]) == _source_key(
                lab["attributed_to"]
            ):
                self.attribution_right += 1
            else:
                self.lines.append(
                    f"  WHO   {doc_id}: {p['figure']} {p['attributed_to']!r},"
                    f" labelled {lab['attributed_to']!r}"
                )
            if "qualifier" in lab and p["qualifier"] != lab["qualifier"]:
                self.lines.append(f"  QUAL  {doc_id}: {_show(p)} — labelled {lab['qualifier']}")
        self.lines += [f"  MISS  {doc_id}: {_show(m)}" for m in misses]
        self.lines += [f"  FALSE {doc_id}: {_show(a)}" for a in alarms]
        if "watchlists" in doc:
            got = {w["name"] for w in result["watchlists"]}
            want = set(doc["watchlists"])
            optional = set(doc.get("watchlists_optional", []))
            self.topics["tp"] += len(got & want)
            self.topics["fn"] += len(want - got)
            self.topics["fp"] += len(got - want - optional)
            for name in sorted(want - got):
                self.lines.append(f"  TOPIC-MISS  {doc_id}: {name}")
            for name in sorted(got - want - optional):
                self.lines.append(f"  TOPIC-FALSE {doc_id}: {name}")

    def summary(self) -> str:
        tp = self.figures["tp"]
        return (
            f"figures {_prf(self.figures)}; qualifier right {self.qualifier_right}/{tp},"
            f" attribution right {self.attribution_right}/{tp}"
            + (f"\n  topics {_prf(self.topics)}" if self.topics else "")
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--split", choices=["all", "dev", "holdout"], default="all")
    parser.add_argument("--via", choices=["direct", "pipeline", "cli"], default="pipeline")
    parser.add_argument("--english", action="store_true", help="English documents only")
    parser.add_argument(
        "--language", action="append", help="only documents in this language (repeatable)"
    )
    parser.add_argument(
        "--by-language", action="store_true", help="also print the scores of each language"
    )
    parser.add_argument("--quiet", action="store_true", help="only the totals")
    args = parser.parse_args(argv)
    predictor = Predictor(args.via)
    overall = Scores()
    by_language: dict[str, Scores] = {}
    for label_path in args.labels or [p for p in DEFAULT_LABELS if p.exists()]:
        scores = Scores()
        for doc_id, text, doc in documents(label_path, args.split):
            language = doc.get("language", "en")
            if args.english and language != "en":
                continue
            if args.language and language not in args.language:
                continue
            result = predictor.predict(text, doc)
            scores.add(doc_id, result, doc)
            overall.add(doc_id, result, doc)
            by_language.setdefault(language, Scores()).add(doc_id, result, doc)
        if not args.quiet:
            print("\n".join(scores.lines))
        print(f"{label_path} ({args.split}): {scores.summary()}")
    print(f"overall: {overall.summary()}")
    if args.by_language:
        for language in sorted(by_language):
            print(f"  [{language}] {by_language[language].summary()}")
    if not args.quiet:
        for name in sorted(overall.per_figure):
            print(f"  {name:24} {_prf(overall.per_figure[name])}")
    return 0 if overall.figures["fn"] == 0 and overall.figures["fp"] == 0 else 1


def _show(item: dict[str, Any]) -> str:
    rng = f"{item['low']:g}" if item["low"] == item["high"] else f"{item['low']:g}-{item['high']:g}"
    qualifier, quote = item.get("qualifier", ""), item.get("quote", "")
    return f"{item['figure']} {rng} {item['unit']} {qualifier} — {quote!r}"


def _prf(c: Counter[str]) -> str:
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"precision {p:.3f} recall {r:.3f} F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn})"


if __name__ == "__main__":
    raise SystemExit(main())
