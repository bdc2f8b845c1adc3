"""Rendering: snapshots of every fixture alert, escaping of hostile text, Slack limits.

Snapshots live in tests/data/alerts/expected/; regenerate them with
``NEWSMON_UPDATE_SNAPSHOTS=1 pytest tests/test_notify_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.model import Alert, FigureChange, KnownValue, Observation, content_from_json
from notifiers.console import render_console
from notifiers.email import render_email, subject
from notifiers.slack import render_slack
from tests.slack_server import find_mentions, validate_blocks

ALERTS = Path(__file__).parent / "data" / "alerts"
EXPECTED = ALERTS / "expected"
FIXTURES = sorted(p.stem for p in ALERTS.glob("*.json"))


def load_alert(name: str) -> Alert:
    data = json.loads((ALERTS / f"{name}.json").read_text())
    created = data.get("created_at")
    return Alert(
        id=data["id"],
        kind=data["kind"],
        notifier=data["notifier"],
        channel=data.get("channel"),
        content=content_from_json(data["content"]),
        created_at=datetime.fromisoformat(created) if created else None,
    )


def snapshot(name: str, actual: str) -> None:
    path = EXPECTED / name
    if os.environ.get("NEWSMON_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"missing snapshot {path}; run with NEWSMON_UPDATE_SNAPSHOTS=1"
    assert actual == path.read_text()


def all_texts(payload: dict[str, Any]) -> list[str]:
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [element["text"] for element in block.get("elements", [])]
    return texts


def email_parts(alert: Alert) -> tuple[str, str]:
    msg = render_email(alert, sender="newsmon@alerts.example.org", recipients=["a@example.org"])
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.mark.parametrize("name", FIXTURES)
def test_slack_snapshot(name: str) -> None:
    payload = render_slack(load_alert(name))
    assert validate_blocks(payload["blocks"]) == []
    snapshot(f"{name}.slack.json", json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("name", FIXTURES)
def test_email_snapshot(name: str) -> None:
    text, html = email_parts(load_alert(name))
    snapshot(f"{name}.email.txt", text)
    snapshot(f"{name}.email.html", html)


@pytest.mark.parametrize("name", FIXTURES)
def test_console_snapshot(name: str) -> None:
    snapshot(f"{name}.console.txt", render_console(load_alert(name)) + "\n")


def test_slack_escapes_mentions_links_and_broadcasts() -> None:
    payload = render_slack(load_alert("hostile"))
    for text in all_texts(payload):
        assert find_mentions(text) == [], text
        assert "<https://phish" not in text and "<script>" not in text
    headline = payload["blocks"][1]["text"]["text"]
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in headline
    assert "@\u2060here" in headline
    # our own link survives, with the characters that would break it encoded
    assert "<https://evil.example/path?a=1&amp;b=%3C2%3E%7Cx|" in headline


def test_slack_date_token_is_the_only_special_sequence() -> None:
    payload = render_slack(load_alert("new_item"))
    context = payload["blocks"][2]["elements"][0]["text"]
    assert context.startswith("Example News · <!date^1734703500^")
    assert context.endswith("|2024-12-20 14:05 UTC>")


def test_slack_metadata_carries_alert_id() -> None:
    payload = render_slack(load_alert("figure_change"))
    assert payload["metadata"] == {
        "event_type": "newsmon_alert",
        "event_payload": {"alert_id": 202, "kind": "figure_change"},
    }


def _observation(i: int) -> Observation:
    return Observation(
        figure=f"figure_{i:02d}" + "x" * 200,
        watchlist="casualty-figures",
        value=1000 + i,
        low=1000 + i,
        high=1000 + i,
        unit="people",
        qualifier="about",
        attributed_to="Somebody " * 50,
        quote="…",
    )


def _known(i: int) -> KnownValue:
    when = datetime(2024, 12, 1, tzinfo=UTC)
    return KnownValue(
        low=i, high=i, value=i, qualifier="exact", attributed_to="Source & <@U1> " * 40,
        outlet="Outlet " * 30, url=None, published_at=when, first_seen_at=when,
    )  # fmt: skip


def _huge(changes: int) -> Alert:
    alert = load_alert("figure_change")
    content = replace(
        alert.content,
        watchlists=[f"watchlist-{i}" for i in range(40)],
        title="Very long title & <tag> " * 500,
        summary="A 10,000-character article. " * 400,
        matched_terms=[f"term & {i}" for i in range(300)],
        also_reported_by=[f"Outlet <{i}>" for i in range(500)],
        changes=[
            FigureChange(_observation(i), tuple(_known(j) for j in range(20)), "disagree " * 200)
            for i in range(changes)
        ],
    )
    return replace(alert, content=content)


@pytest.mark.parametrize("changes", [0, 30, 80])
def test_slack_huge_alert_is_truncated_not_rejected(changes: int) -> None:
    payload = render_slack(_huge(changes))
    assert validate_blocks(payload["blocks"]) == []
    assert len(payload["text"]) <= 40_000
    assert payload["blocks"][0]["text"]["text"].endswith("…")
    if changes:
        figure_sections = [
            b for b in payload["blocks"] if "figure_" in b.get("text", {}).get("text", "")
        ]
        assert figure_sections
        assert "…" in payload["blocks"][3]["text"]["text"]  # 20 previous values, cut
    if changes == 80:
        assert len(payload["blocks"]) == 50
        assert payload["blocks"][-2]["text"]["text"].startswith("…and ")
    for text in all_texts(payload):
        assert "&lt" not in text[-6:] or text.endswith(";") or text.endswith("…")


def test_slack_clip_never_leaves_a_broken_entity() -> None:
    alert = load_alert("new_item")
    alert.content.title = "&" * 1000
    headline = render_slack(alert)["blocks"][1]["text"]["text"].split("\n")[0]
    body = headline.split("|", 1)[1]
    assert body.endswith("…>*")
    assert body.removesuffix("…>*").replace("&amp;", "") == ""


def test_email_subject_cannot_inject_headers() -> None:
    alert = load_alert("hostile")
    msg = render_email(alert, sender="newsmon@example.org", recipients=["a@example.org"])
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
    assert "Bcc" not in msg
    raw = msg.as_bytes()
    assert b"\nBcc:" not in raw and b"\r\nBcc:" not in raw
    assert subject(alert).startswith("[newsmon] New story · kn-23: <!channel> & <@U123> KN-23")


def test_email_html_escapes_article_text() -> None:
    _, html = email_parts(load_alert("hostile"))
    assert "<script>" not in html and "<b>urgent</b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;urgent&lt;/b&gt;" in html
    assert 'href="https://evil.example/path?a=1&amp;b=&lt;2&gt;|x"' in html


def test_email_has_deterministic_message_id_and_alternatives() -> None:
    alert = load_alert("figure_change")
    first = render_email(
        alert, sender="News Monitor <newsmon@alerts.example.org>", recipients=["a@b.c"]
    )
    again = render_email(
        alert, sender="News Monitor <newsmon@alerts.example.org>", recipients=["a@b.c"]
    )
    assert first["Message-ID"] == again["Message-ID"] == "<newsmon-alert-202@alerts.example.org>"
    assert first.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in first.iter_parts()] == ["text/plain", "text/html"]
    assert first["Subject"] == (
        "[newsmon] Figure change · casualty-figures: nk_casualties at least 3,000 people (+1 more)"
        " — Zelensky: at least 3,000 North Korean soldiers killed or wounded in Kursk"
    )


def test_email_html_has_no_external_resources() -> None:
    for name in FIXTURES:
        _, html = email_parts(load_alert(name))
        assert "<img" not in html and "<link" not in html and "src=" not in html
        assert "<script" not in html


def test_docs_examples_are_current() -> None:
    import importlib.util

    script = Path(__file__).parents[1] / "docs" / "examples" / "generate.py"
    spec = importlib.util.spec_from_file_location("generate_examples", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, content in module.examples().items():
        path = script.parent / name
        assert path.exists() and path.read_text() == content, (
            f"{path} is stale: run .venv/bin/python docs/examples/generate.py"
        )
