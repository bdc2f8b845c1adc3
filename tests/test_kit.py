"""The test kit itself: a test that needs ../shared fails without it, unless opted out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import paths


def test_shared_material_that_is_missing_fails_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "SHARED", tmp_path / "shared")
    monkeypatch.delenv(paths.WITHOUT_SHARED, raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"shared/seeds is missing.*TESTS_WITHOUT"):
        paths.shared("seeds")


def test_shared_material_that_is_missing_skips_when_opted_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paths, "SHARED", tmp_path / "shared")
    monkeypatch.setenv(paths.WITHOUT_SHARED, "1")
    with pytest.raises(pytest.skip.Exception, match=r"shared/seeds is missing"):
        paths.shared("seeds")


def test_shared_material_that_is_there_is_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shared" / "seeds").mkdir(parents=True)
    monkeypatch.setattr(paths, "SHARED", tmp_path / "shared")
    assert paths.shared("seeds") == tmp_path / "shared" / "seeds"
