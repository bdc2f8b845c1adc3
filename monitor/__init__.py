"""newsmon: polls news feeds, matches watchlists, tracks figures and alerts teams."""

__version__ = "0.1.0"
USER_AGENT = (
    f"newsmon/{__version__} (+https://github.com/newsmon/newsmon; news-monitoring alert service)"
)
