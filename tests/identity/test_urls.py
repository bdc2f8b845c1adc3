"""canonical_url, url_key and outlet_of, driven by tests/data/urls.yaml."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from monitor.identity.urls import canonical_url, outlet_of, url_key
from tests.support.paths import REPO

CASES: dict[str, Any] = yaml.safe_load(
    (REPO / "tests" / "data" / "urls.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(("url", "expected"), CASES["canonical"], ids=lambda v: str(v)[:60])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), CASES["canonical"], ids=lambda v: str(v)[:60])
def test_canonical_url_is_idempotent(url: str, expected: str) -> None:
    assert canonical_url(expected) == expected


@pytest.mark.parametrize(("url", "expected"), CASES["outlet"], ids=lambda v: str(v)[:60])
def test_outlet_of(url: str, expected: str) -> None:
    assert outlet_of(url) == expected


def test_url_key_is_short_stable_and_follows_canonical_form() -> None:
    key = url_key("https://www.example.com/a/?utm_source=x#top")
    assert re.fullmatch(r"[0-9a-f]{24}", key)
    assert key == url_key("https://example.com/a")
    assert key != url_key("https://example.com/b")
    # Stable across runs and versions: a fixed value, not Python's hash().
    assert url_key("https://example.com/") == "d9eaf5746142a5957d017531"
