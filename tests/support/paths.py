"""Where the tests find the repository, their data files and the shared material next to it.

Some tests need material that is not in the repository but next to it, in ``../shared``
(the seed documents, the feed corpus, the labelled real news). Such a test asks for it with
``shared("seeds")``: when it is missing the test fails and says where it looked, so a CI
without it cannot pass by skipping. Who really has no ``../shared`` sets
``NEWSMON_TESTS_WITHOUT_SHARED=1``, and those tests are skipped instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"
WITHOUT_SHARED = "NEWSMON_TESTS_WITHOUT_SHARED"


def shared(relative: str) -> Path:
    """``../shared/<relative>``; a test that calls this fails (or skips, on opt-out) without it."""
    path = SHARED / relative
    if path.exists():
        return path
    message = (
        f"{path} is missing: this test needs the shared material next to the repository "
        f"(../shared); set {WITHOUT_SHARED}=1 to skip the tests that need it"
    )
    if os.environ.get(WITHOUT_SHARED):
        pytest.skip(message)
    pytest.fail(message)
