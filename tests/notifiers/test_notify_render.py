"""Rendering: snapshots of every fixture alert, escaping of hostile text, Slack limits.

Snapshots live in tests/data/alerts/expected/; regenerate them with
``NEWSMON_UPDATE_SNAPSHOTS=1 pytest tests/notifiers/test_notify_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.domain.model import Alert, FigureChange, KnownValue, Observation, content_from_json
from notifiers.console import render_console
from notifiers.email import render_email, subject
from notifiers.slack import render_slack
from tests.support.paths import REPO
from tests.support.slack_server import find_mentions, validate_blocks

ALERTS = REPO / "tests" / "data" / "alerts"
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
        thread_id=data.get("thread_id"),
        thread_channel=data.get("thread_channel"),
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

    script = REPO / "docs" / "examples" / "generate.py"
    spec = importlib.util.spec_from_file_location("generate_examples", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, content in module.examples().items():
        path = script.parent / name
        assert path.exists() and path.read_text() == content, (
            f"{path} is stale: run .venv/bin/python docs/examples/generate.py"
        )


# --- dashboards and digests -----------------------------------------------------------------


def _dashboard(estimates: int, text: str = "Kyiv intelligence") -> Alert:
    """The dashboard fixture with ``estimates`` values in all (the newest observation plus
    stored ones), every free-text field set to ``text``."""
    alert = load_alert("dashboard")
    [change] = alert.content.changes
    when = datetime(2024, 12, 1, tzinfo=UTC)
    previous = tuple(
        KnownValue(
            low=1000 + i,
            high=1000 + 2 * i,
            value=1000 + i,
            qualifier="about",
            attributed_to=text,
            outlet=text,
            url=f"https://news.example/{i}?a=1&b=<2>",
            published_at=when,
            first_seen_at=when,
            corroborations=1 + i % 3,
        )
        for i in range(estimates - 1)
    )
    observation = replace(change.observation, figure=f"nk_killed {text}", attributed_to=text)
    content = replace(
        alert.content,
        outlet=text,
        changes=[FigureChange(observation, previous, f"{text} says 0")],
    )
    return replace(alert, content=content)


HOSTILE = "<!channel> & <@U123> @here " * 12


def test_slack_dashboard_shows_the_range_then_every_estimate_newest_first() -> None:
    payload = render_slack(load_alert("dashboard"))
    assert set(payload) == {"text", "blocks", "metadata"}  # the chat.update arguments
    header, summary, listing, spread, context = payload["blocks"]
    assert header["text"]["text"] == "📊 nk_casualties — current estimates"
    assert summary["text"]["text"] == "*100–4,000 people across 4 estimates*"
    assert listing["text"]["text"].split("\n") == [
        "• *about 4,000 people* — Ukrainian military intelligence (HUR), Kyiv Independent,"
        " 2025-01-14 · <https://kyiv.example/news/nk-losses-4000|article>",
        "• *at least 3,000 people* — Volodymyr Zelensky, Example Wire, 2025-01-12 (3 reports)"
        " · <https://news.example.com/zelensky-north-korean-losses|article>",
        "• *about 1,000 people* — Kyiv intelligence, Yonhap, 2024-12-23 (2 reports)"
        " · <https://yonhap.example/a|article>",
        "• *over 100 people* — NIS, Korea Herald, 2024-12-19",
    ]
    assert spread["text"]["text"] == ":warning: Sources disagree: KCNA says 0, Kyiv says 4,000"
    assert context["elements"][0]["text"] == (
        "Updated <!date^1736840520^{date_short_pretty} {time}|2025-01-14 07:42 UTC>"
        " · each change is a reply in this thread"
    )
    assert payload["text"].startswith(
        "📊 nk_casualties — current estimates: 100–4,000 people across 4 estimates\n"
        "• about 4,000 people — Ukrainian military intelligence (HUR)"
    )


def test_slack_dashboard_metadata_names_the_dashboard_alert() -> None:
    assert render_slack(load_alert("dashboard"))["metadata"] == {
        "event_type": "newsmon_alert",
        "event_payload": {"alert_id": 404, "kind": "dashboard"},
    }


@pytest.mark.parametrize("count", [1, 40, 400])
def test_slack_dashboard_with_many_hostile_estimates_stays_within_limits(count: int) -> None:
    payload = render_slack(_dashboard(count, HOSTILE))
    assert validate_blocks(payload["blocks"]) == []
    assert len(payload["text"]) <= 40_000
    # the header is plain_text, which Slack never parses for mentions; every other text is
    # mrkdwn and must be inert
    for text in [payload["text"], *all_texts(payload)[2:]]:
        assert find_mentions(text) == [], text
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…") and "@\u2060here" in header
    estimates = "\n".join(b["text"]["text"] for b in payload["blocks"][2:-2])
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in estimates
    assert "<https://news.example/0?a=1&amp;b=%3C2%3E|article>" in estimates or count == 1
    shown = estimates.count("• *")
    if shown < count:  # what did not fit is counted, not dropped silently
        assert estimates.endswith(f"\n…and {count - shown} more earlier estimates")
    assert shown >= min(count, 20)


def test_slack_dashboard_with_40_ordinary_estimates_shows_them_all() -> None:
    payload = render_slack(_dashboard(40))
    assert validate_blocks(payload["blocks"]) == []
    estimates = "\n".join(b["text"]["text"] for b in payload["blocks"][2:-2])
    assert estimates.count("• *") == 40 and "more earlier" not in estimates


def test_slack_dashboard_without_an_update_time_says_how_it_works() -> None:
    alert = load_alert("dashboard")
    alert.created_at = None
    alert.content.published_at = None
    context = render_slack(alert)["blocks"][-1]["elements"][0]["text"]
    assert context == "Each change is a reply in this thread"


def _digest(members: int, title: str = "North Korean troops seen near Kursk") -> Alert:
    alert = load_alert("digest")
    [first, *_] = alert.content.digest
    content = replace(
        alert.content,
        digest=[
            replace(first, title=f"{title} #{i}", url=f"https://news.example/{i}")
            for i in range(members)
        ],
        note=f"{members} new stories over the limit of 5 per hour",
    )
    return replace(alert, content=content)


def test_slack_digest_lists_each_member_with_link_outlet_time_and_terms() -> None:
    payload = render_slack(load_alert("digest"))
    header, note, *members = payload["blocks"]
    assert header["text"]["text"] == "🗂 Digest · nk-deployment, kn-23: 7 new stories"
    assert note["elements"][0]["text"] == "7 new stories over the limit of 5 per hour"
    assert len(members) == 7
    assert members[0]["text"]["text"] == (
        "*<https://news.example.com/a1|North Korean troops seen moving toward Kursk front>*\n"
        "Example Wire · <!date^1736845380^{date_short_pretty} {time}|2025-01-14 09:03 UTC>"
        " · Matched: North Korean, Kursk"
    )
    assert payload["text"].split("\n")[:3] == [
        "Digest · nk-deployment, kn-23: 7 new stories",
        "7 new stories over the limit of 5 per hour",
        "• North Korean troops seen moving toward Kursk front (Example Wire)",
    ]
    assert payload["metadata"]["event_payload"] == {"alert_id": 505, "kind": "digest"}


def test_slack_digest_member_figure_change_is_one_before_after_line() -> None:
    payload = render_slack(load_alert("digest_email"))
    figure = payload["blocks"][4]["text"]["text"]
    assert figure.endswith(
        "📈 nk_casualties: about 1,000 people → at least 3,000 people _(Volodymyr Zelensky)_"
    )


@pytest.mark.parametrize("members", [47, 48, 120])
def test_slack_digest_of_many_members_stays_within_50_blocks_and_says_how_many_more(
    members: int,
) -> None:
    payload = render_slack(_digest(members))
    blocks = payload["blocks"]
    assert validate_blocks(blocks) == [] and len(blocks) <= 50
    shown = [b for b in blocks[2:] if b["text"]["text"].startswith("*<")]
    if members <= 48:
        assert len(shown) == members
    else:
        assert blocks[-1]["text"]["text"] == f"…and {members - len(shown)} more"
        assert len(blocks) == 50 and len(shown) == 47
    assert payload["text"].count("\n• ") == members  # the fallback names them all


def test_slack_digest_with_long_members_keeps_the_total_length_in_bounds() -> None:
    payload = render_slack(_digest(120, "Long headline " * 30))
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert sum(len(text) for text in sections) <= 13_000
    assert sections[-1].startswith("…and ") and sections[-1].endswith(" more")


def test_slack_digest_escapes_hostile_titles() -> None:
    payload = render_slack(load_alert("digest_hostile"))
    for text in all_texts(payload):
        assert find_mentions(text) == [], text
        assert "<script>" not in text and "<https://phish" not in text
    first = payload["blocks"][2]["text"]["text"]
    assert first.startswith("*<https://evil.example/path?a=1&amp;b=%3C2%3E%7Cx|&lt;!channel&gt;")
    second = payload["blocks"][3]["text"]["text"]
    assert second.startswith("*Subject: hijack X-Injected: yes*")  # javascript: is not linked


def test_email_digest_subject_is_made_of_watchlists_and_counts_only() -> None:
    assert subject(load_alert("digest")) == "[newsmon] Digest · nk-deployment, kn-23: 7 new stories"
    hostile = render_email(
        load_alert("digest_hostile"), sender="newsmon@example.org", recipients=["a@example.org"]
    )
    assert hostile["Subject"] == "[newsmon] Digest · kn-23: 2 new stories"
    assert "X-Injected" not in hostile and "Bcc" not in hostile


def test_email_digest_lists_every_member_in_both_parts() -> None:
    alert = load_alert("digest_email")
    text, html = email_parts(alert)
    for member in alert.content.digest:
        assert member.title in text and member.url is not None and member.url in text
        assert member.title in html
    assert html.count('<a href="') == 4
    assert 'href="https://wire.example/denial?a=1&amp;b=2"' in html
    assert "hourly digest" in text and "hourly digest" in html
    assert "before: about 1,000 people — Kyiv intelligence, Yonhap, 2024-12-23" in text
    assert "Kyiv intelligence, Yonhap, 2024-12-23 (2 reports)" in html


def test_email_digest_html_escapes_and_links_only_web_urls() -> None:
    _, html = email_parts(load_alert("digest_hostile"))
    assert "<script>" not in html and "<b>urgent</b>" not in html
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in html
    assert "javascript:" not in html


def test_email_dashboard_renders_the_range_in_its_subject() -> None:
    assert subject(load_alert("dashboard")) == (
        "[newsmon] Figure dashboard · casualty-figures: nk_casualties 100–4,000 people"
        " across 4 estimates"
    )


def test_console_renders_dashboard_and_digest_compactly() -> None:
    assert render_console(load_alert("dashboard")).split("\n") == [
        "[Figure dashboard] casualty-figures: nk_casualties 100–4,000 people across 4 estimates",
        "  latest: about 4,000 people — Ukrainian military intelligence (HUR), Kyiv Independent,"
        " 2025-01-14",
    ]
    lines = render_console(load_alert("digest_email")).split("\n")
    assert lines[0] == "[Digest] nk-deployment, casualty-figures: 4 alerts — hourly digest"
    assert lines[3:5] == [
        "  - 2025-01-12 09:10 Example Wire: Zelensky: at least 3,000 North Korean soldiers killed"
        " or wounded in Kursk (matched: North Korean, killed, wounded)",
        "      nk_casualties: about 1,000 people → at least 3,000 people",
    ]
    hostile = render_console(load_alert("digest_hostile"))
    assert "\r" not in hostile and len(hostile.split("\n")) == 3
