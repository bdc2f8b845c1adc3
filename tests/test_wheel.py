"""`pip install newsmon` works outside the checkout: the wheel carries the shipped
watchlists and sample feeds, and `newsmon run --once` in an empty folder runs on them."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.paths import REPO


@pytest.mark.slow
def test_the_wheel_runs_once_in_an_empty_folder_on_what_it_ships(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        timeout=300,
    )
    [wheel] = dist.glob("newsmon-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, timeout=300
    )
    # The dependencies come from this test's environment (no second download of them); the
    # venv's own site-packages comes first, so `monitor` is the wheel's, not the checkout's.
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    done = subprocess.run(
        [venv / "bin" / "newsmon", "run", "--once"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "using the shipped watchlists on the bundled sample feeds" in done.stderr
    assert "newsmon: polled 2 feeds (0 failed)" in done.stderr
    assert "[New story]" in done.stdout
    where = subprocess.run(
        [python, "-c", "import monitor; print(monitor.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where and str(REPO) not in where
