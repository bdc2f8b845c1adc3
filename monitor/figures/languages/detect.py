"""The language of a text, with py3langid (langid.py's maintained fork: its model ships in
the wheel, so detection works offline and gives the same answer every time)."""

from __future__ import annotations

import functools
import re
from typing import Any

_LETTERS = re.compile(r"[^\W\d_]")


@functools.cache
def _identifier() -> Any:
    import py3langid  # loads its model once (half a second)

    return py3langid


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, None for a text without words. The first
    few thousand characters decide: a story's language does not change halfway."""
    sample = text[:4000]
    if not _LETTERS.search(sample):
        return None
    code, _ = _identifier().classify(sample)
    return str(code)


def declared_language(value: str | None) -> str | None:
    """A feed's ``<language>``, ``xml:lang`` or HTML ``lang`` ("en-US", "ko_KR") as a
    two-letter code, None when absent or not a language tag."""
    if not value:
        return None
    code = re.split(r"[-_]", value.strip())[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None
