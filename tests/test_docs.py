"""The README documents every setting a user can write."""

from __future__ import annotations

from pydantic import BaseModel

from monitor.config import Config
from tests.conftest import REPO


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
