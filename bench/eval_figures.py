"""Score figure extraction against hand labels (schema of /work/shared/seeds/figures.json).

    python bench/eval_figures.py [--labels PATH ...] [--via direct|cli] [--quiet]

A label file is {"documents": {id: {"text"?: ..., "figures": [...], "not_figures": [...],
"tolerated"?: [...]}}}; a document without "text" is the file named by its id next to
the label file. A predicted figure matches a labelled one when figure and unit are equal
and the ranges overlap; each label is matched at most once, duplicates of one prediction
(the same figure read for two watchlists) count once. Predictions matching a ``tolerated``
entry count neither way. ``--via direct`` (default) runs FigureExtractor with the specs of
watchlists/*.yaml; ``--via cli`` runs ``python -m monitor inspect --json PATH`` per document.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.figures import FigureExtractor, spec_from_yaml  # noqa: E402
from monitor.model import Article, FigureSpec  # noqa: E402

DEFAULT_LABELS = [
    ROOT.parent / "shared" / "seeds" / "figures.json",
    ROOT / "tests" / "data" / "figures" / "dev_set.json",
]


def load_specs(directory: Path = ROOT / "watchlists") -> list[FigureSpec]:
    import yaml

    specs = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        name = data.get("name", path.stem)
        for figure, entry in (data.get("figures") or {}).items():
            specs.append(spec_from_yaml(name, figure, entry))
    return specs


def documents(label_path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    labels = json.loads(label_path.read_text(encoding="utf-8"))
    docs = []
    for doc_id, doc in labels["documents"].items():
        text = doc.get("text")
        if text is None:
            text = (label_path.parent / doc_id).read_text(encoding="utf-8")
        docs.append((doc_id, text, doc))
    return docs


def predict_direct(extractor: FigureExtractor, text: str) -> list[dict[str, Any]]:
    return [obs.to_json() for obs in extractor.extract(Article(title="", text=text))]


def predict_cli(text: str) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "monitor", "inspect", "--json", f.name],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
    finally:
        Path(f.name).unlink()
    return list(json.loads(out.stdout)["figures"])


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
    key = source.casefold().strip()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--via", choices=["direct", "cli"], default="direct")
    parser.add_argument("--quiet", action="store_true", help="only the totals")
    args = parser.parse_args(argv)
    extractor = FigureExtractor(load_specs())
    totals: Counter[str] = Counter()
    per_figure: dict[str, Counter[str]] = {}
    attribution_right = 0
    for label_path in args.labels or [p for p in DEFAULT_LABELS if p.exists()]:
        file_totals: Counter[str] = Counter()
        for doc_id, text, doc in documents(label_path):
            preds = predict_cli(text) if args.via == "cli" else predict_direct(extractor, text)
            hits, misses, alarms = score_document(preds, doc)
            for kind, items in (("tp", hits), ("fn", misses), ("fp", alarms)):
                file_totals[kind] += len(items)
                for item in items:
                    name = (item[0] if kind == "tp" else item)["figure"]
                    per_figure.setdefault(name, Counter())[kind] += 1
            attribution_right += sum(
                1
                for p, lab in hits
                if "attributed_to" not in lab
                or _source_key(p["attributed_to"]) == _source_key(lab["attributed_to"])
            )
            if not args.quiet:
                for m in misses:
                    print(f"  MISS  {label_path.name}:{doc_id}: {_show(m)}")
                for a in alarms:
                    print(f"  FALSE {label_path.name}:{doc_id}: {_show(a)}")
        print(f"{label_path}: {_prf(file_totals)}")
        totals.update(file_totals)
    print(f"overall: {_prf(totals)}; attribution right on {attribution_right}/{totals['tp']} hits")
    for name in sorted(per_figure):
        print(f"  {name:24} {_prf(per_figure[name])}")
    return 0 if totals["fn"] == 0 and totals["fp"] == 0 else 1


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
