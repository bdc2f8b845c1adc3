"""The README documents every setting a user can write."""

from __future__ import annotations

import yaml
from pydantic import BaseModel

from monitor.analysis.watchlist import load_watchlist_text
from monitor.analysis.watchlist_examples import check_examples
from monitor.analysis.watchlist_schema import WatchlistModel
from monitor.config.settings import Config
from tests.support.paths import REPO


def config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        keys.append(prefix + key)
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys += config_keys(candidate, prefix + key + ".")
    return keys


def test_every_config_key_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    undocumented = [key for key in config_keys(Config) if key.rsplit(".", 1)[-1] not in readme]
    assert undocumented == []


def test_every_watchlist_key_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    keys = config_keys(WatchlistModel)
    undocumented = [key for key in keys if key.rsplit(".", 1)[-1] not in readme]
    assert "noise.quiet_hours.timezone" in keys  # the walk reaches nested models
    assert undocumented == []


def readme_yaml_block(after_heading: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(after_heading) :]
    start = section.index("```yaml\n") + len("```yaml\n")
    return section[start : section.index("```", start)]


def test_the_readme_config_example_is_a_valid_config() -> None:
    Config.model_validate(yaml.safe_load(readme_yaml_block("## Configuration")))


def test_the_readme_watchlist_example_loads_and_its_examples_pass() -> None:
    watchlist = load_watchlist_text(readme_yaml_block("## Watchlists"), "kn-23.yaml")
    assert check_examples([watchlist]) == []
