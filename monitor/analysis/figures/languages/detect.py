"""The language of a text, with py3langid (langid.py's maintained fork: its model ships in
the wheel, so detection works offline and gives the same answer every time)."""

from __future__ import annotations

import functools
import re
from typing import Any

_LETTERS = re.compile(r"[^\W\d_]")


# The languages told apart: those newsmon reads, and the ones most often confused with
# them, so a Portuguese or Italian text is not taken for Spanish. Fewer candidates also keep
# a short English line from being read as a language of a few thousand speakers.
CANDIDATES = ("en", "ko", "uk", "ru", "de", "es", "fr", "pt", "it", "nl", "pl", "ja", "zh", "ar")


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)  # half a second, once
    identifier.set_languages(list(CANDIDATES))
    return identifier


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
