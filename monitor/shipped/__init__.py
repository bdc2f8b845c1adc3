"""Files the wheel carries: the shipped watchlists and the sample feeds (symlinks to
``watchlists/`` and ``deploy/sample-feeds/`` in the checkout)."""

from pathlib import Path

SHIPPED = Path(__file__).parent
WATCHLISTS = SHIPPED / "watchlists"
SAMPLE_FEEDS = SHIPPED / "sample-feeds"


def sample_feed_uris() -> list[tuple[str, str]]:
    """(file:// URI, name) of each bundled sample feed."""
    return [
        (path.resolve().as_uri(), f"{path.stem.replace('-', ' ').title()} (sample)")
        for path in sorted(SAMPLE_FEEDS.glob("*.xml"))
    ]
