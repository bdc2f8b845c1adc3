"""Load YAML while remembering the line of every value, and report pydantic errors as FILE:LINE.

PyYAML's safe loader gives data without positions; composing the node tree ourselves
gives both, so every problem a maintainer makes in a config or watchlist file is reported
where it is.

Aliases (``*name``, and ``<<: *name`` merges) are refused at their line: an alias bomb
(each level ten aliases of the one before) expands exponentially, and an alias inside its
own anchor never ends; a watchlist folder is reloaded live, so either would take the
service down. Nothing newsmon reads needs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from monitor.domain.errors import ConfigError, Problem

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class YamlDoc:
    """A parsed YAML document: its data and the line (1-based) of each value by path."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Iterable[str | int]) -> int | None:
        """The line of the deepest known path prefix of ``loc``."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


class _Loader(yaml.SafeLoader):
    pass


def _construct(node: yaml.Node, loc: Loc, lines: dict[Loc, int], path: str) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _Loader("").construct_object(key_node)
            if isinstance(key, list | dict):
                raise ConfigError(
                    [Problem(path, key_node.start_mark.line + 1, "a mapping key must be a scalar")]
                )
            if key in result:
                raise ConfigError(
                    [Problem(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")]
                )
            result[key] = _construct(value_node, (*loc, key), lines, path)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), lines, path) for i, item in enumerate(node.value)]
    return _Loader("").construct_object(node)


def parse_yaml(text: str, path: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become a ConfigError at the right line."""
    try:
        _refuse_aliases(text, path)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise ConfigError([Problem(path, line, message)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(path, None, f"invalid YAML: {exc}")]) from None
    if node is None:
        return YamlDoc(path, None, {(): 1})
    lines: dict[Loc, int] = {}
    data = _construct(node, (), lines, path)
    return YamlDoc(path, data, lines)


def _refuse_aliases(text: str, path: str) -> None:
    """ConfigError at the first alias; a pass over the events, linear in the text."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            message = f"YAML aliases are not supported (*{event.anchor}): write the value out"
            raise ConfigError([Problem(path, line, message)])


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse a YAML file; an unreadable file is a ConfigError, not a traceback."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), None, f"cannot read file: {exc}")]) from None
    return parse_yaml(text, str(path))


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error["loc"] if part != "__root__")
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    return f"{loc}: {message}" if loc else message


def problems_from_validation(doc: YamlDoc, exc: ValidationError, prefix: Loc = ()) -> list[Problem]:
    """Turn every pydantic error into a FILE:LINE problem."""
    problems = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
        details: dict[str, Any] = {**error, "loc": loc}
        problems.append(Problem(doc.path, doc.line_of((*prefix, *loc)), _describe(details)))
    return problems


def validate_doc(doc: YamlDoc, model: type[M], data: Any = None) -> M:
    """Validate ``doc.data`` (or ``data``) against ``model``; all errors at once as ConfigError."""
    try:
        return model.model_validate(doc.data if data is None else data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(doc, exc)) from None
