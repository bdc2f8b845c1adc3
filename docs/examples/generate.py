"""Write sample Slack and email messages from the fixture alerts in tests/data/alerts/.

    .venv/bin/python docs/examples/generate.py

Writes, next to this script:

- ``slack-{kind}.json``: the chat.postMessage payload (paste ``blocks`` into
  https://app.slack.com/block-kit-builder to see it), ``email-{kind}.html`` (the HTML part;
  open it in a browser) and ``email-{kind}.eml`` (the whole message) for the kinds
  ``new_item``, ``figure_change`` and ``digest`` (the email digest: held alerts of an
  hourly digest route, one with a figure change; the Slack digest: new stories over a
  watchlist's hourly limit);
- ``slack-follow_up.json``: a syndicated copy of an alerted story, posted as a reply
  (``thread_ts``) in the thread of the story's first alert (follow-ups are Slack-only);
- ``slack-dashboard.json``: the chat.update payload (``channel`` id and ``ts`` of the
  figure thread's parent) after a later change, i.e. the parent as it then reads
  (dashboards are Slack-only).

tests/notifiers/test_notify_render.py checks they are current.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from monitor.domain.model import Alert, content_from_json  # noqa: E402
from notifiers.email import render_email  # noqa: E402
from notifiers.slack import render_slack  # noqa: E402

HERE = Path(__file__).resolve().parent
ALERTS = ROOT / "tests" / "data" / "alerts"
SAMPLES = {"new_item": "new_item", "figure_change": "figure_change"}  # kind → fixture
SLACK_ONLY = {"follow_up": "follow_up", "dashboard": "dashboard"}
DIGESTS = {"slack": "digest", "email": "digest_email"}  # the notifier's typical digest
SENDER = "News Monitor <newsmon@alerts.example.org>"
RECIPIENTS = ["Desk <desk@example.org>"]
BOUNDARY = "===============newsmon-example=="


def load_alert(path: Path) -> Alert:
    data = json.loads(path.read_text())
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


def slack_example(alert: Alert) -> str:
    """The request's arguments: chat.update's (channel id, ``ts``) for a dashboard,
    chat.postMessage's (channel, ``thread_ts`` for a reply) for the other kinds."""
    if alert.kind == "dashboard":
        payload = {"channel": alert.thread_channel, "ts": alert.thread_id, **render_slack(alert)}
    else:
        payload = {"channel": alert.channel or "#news-alerts", **render_slack(alert)}
        if alert.thread_id:
            payload["thread_ts"] = alert.thread_id
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def email_examples(alert: Alert, kind: str) -> dict[str, str]:
    msg = render_email(alert, sender=SENDER, recipients=RECIPIENTS)
    msg.set_boundary(BOUNDARY)  # stable files; real messages get a random boundary
    html = msg.get_body(("html",))
    assert html is not None
    return {f"email-{kind}.html": html.get_content(), f"email-{kind}.eml": msg.as_string()}


def examples() -> dict[str, str]:
    """File name → content of every example."""
    files = {}
    for kind, fixture in SAMPLES.items():
        alert = load_alert(ALERTS / f"{fixture}.json")
        files[f"slack-{kind}.json"] = slack_example(alert)
        files.update(email_examples(alert, kind))
    for kind, fixture in SLACK_ONLY.items():
        files[f"slack-{kind}.json"] = slack_example(load_alert(ALERTS / f"{fixture}.json"))
    files["slack-digest.json"] = slack_example(load_alert(ALERTS / f"{DIGESTS['slack']}.json"))
    files.update(email_examples(load_alert(ALERTS / f"{DIGESTS['email']}.json"), "digest"))
    return files


def main() -> None:
    for name, content in examples().items():
        (HERE / name).write_text(content)
        print(HERE / name)


if __name__ == "__main__":
    main()
