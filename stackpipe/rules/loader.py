"""The strict loader: parsed YAML into frozen dataclasses, checked on the way in.

A schema is a tree of frozen dataclasses; their type hints say what each key holds.
`parse` walks a YAML document against one and rejects, with a `RulesError` naming the
file, the key path and the value: an unknown key, a missing required key, a value of the
wrong type (`true` is not a number, `1` is not a string), and a number outside the
`Range` its field declares (`ranged`, `fraction`). A dataclass's own `__post_init__`
checks what depends on several fields; a `FieldError` it raises is reported under that
field's key. Both `rules/*.yaml` (stackpipe.rules) and `stackpipe run` configs
(stackpipe.runconfig) are loaded with it.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml


class RulesError(ValueError):
    """A rules file is missing, malformed, or holds an unknown key or a bad value."""


class FieldError(ValueError):
    """A bad value of one field; the loader turns `key` (relative to the dataclass) into
    the full key path of the file."""

    def __init__(self, key: str, problem: str):
        super().__init__(key, problem)
        self.key, self.problem = key, problem

    def __str__(self) -> str:
        return f"{self.key}: {self.problem}"


@dataclass(frozen=True)
class Range:
    """The values a numeric field may take: bounds included unless `open_low` /
    `open_high`, NaN and infinities never. `None` (a check turned off) always passes; on a
    tuple field every entry is checked."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def __str__(self) -> str:
        low, high = _number(self.low), _number(self.high)
        if self.low is not None and self.high is not None:
            return f"within {'(' if self.open_low else '['}{low}, {high}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"{'greater than' if self.open_low else 'at least'} {low}"
        return f"{'less than' if self.open_high else 'at most'} {high}"

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)

    def check(self, key: str, value: Any) -> None:
        for index, item in enumerate(value) if isinstance(value, tuple) else [(None, value)]:
            if item is not None and not self.admits(item):
                raise FieldError(key if index is None else f"{key}[{index}]", f"must be {self}, got {item!r}")


def _number(value: float | None) -> str:
    """1.0 as 1, 0.5 as 0.5: bounds read like the YAML that sets them."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def ranged(default: Any, low: float | None = None, high: float | None = None, *,
           open_low: bool = False, open_high: bool = False) -> Any:
    """A dataclass field whose value must lie within `low` .. `high` (see `Range`)."""
    return field(default=default, metadata={"range": Range(low, high, open_low, open_high)})


def fraction(default: float | None) -> Any:
    """A fraction or a probability: within [0, 1]."""
    return ranged(default, 0.0, 1.0)


def parsed_by(parser: Callable[..., Any], **field_args: Any) -> Any:
    """A dataclass field whose YAML value `parser(value, file=, key=)` turns into the
    field's value, in place of the parsing its type hint implies: for a short form (one
    URI for a list of them) or a mapping whose keys are another dataclass's fields."""
    return field(metadata={"parse": parser}, **field_args)


class Checked:
    """Base of the dataclasses with numbers: on construction (`dataclasses.replace` too)
    each field declared with `ranged` / `fraction` is checked against its `Range`. A
    subclass with a `__post_init__` of its own calls `super().__post_init__()` first."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if "range" in f.metadata:
                f.metadata["range"].check(f.name, getattr(self, f.name))


def one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")


def load_rule_file(path: Path, cls: type, *, what: str = "rules file") -> Any:
    """Parse one YAML file (`what`: how messages call it) into `cls`, strictly; an empty
    file is an empty mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"{what} {path} is missing") from None
    except OSError as error:
        raise RulesError(f"{what} {path} cannot be read: {error.strerror or error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError(f"{what} {path} is not valid YAML: {error}") from None
    return parse(cls, data if data is not None else {}, file=str(path), key="")


def parse(tp: Any, value: Any, *, file: str, key: str) -> Any:
    """Convert `value` (parsed YAML) to type `tp`, raising RulesError on any mismatch."""
    where = f"{file}: key '{key or '<top>'}'"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return parse(option, value, file=file, key=key)
            except RulesError as error:
                errors.append(str(error))
        raise RulesError(errors[0] if len(errors) == 1 else f"{where}: value {value!r} matches none of {tp}")
    if dataclasses.is_dataclass(tp):
        return parse_dataclass(tp, value, file=file, key=key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise RulesError(f"{where}: expected a list, got {value!r}")
        item_type = args[0]
        return tuple(parse(item_type, v, file=file, key=f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict) or tp is dict:
        if not isinstance(value, dict):
            raise RulesError(f"{where}: expected a mapping, got {value!r}")
        key_type, value_type = args if args else (str, Any)
        return {
            parse(key_type, k, file=file, key=f"{key}.{k}" if key else str(k)): parse(
                value_type, v, file=file, key=f"{key}.{k}" if key else str(k)
            )
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise RulesError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RulesError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RulesError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise RulesError(f"{where}: expected a string, got {value!r}")
        return value
    raise TypeError(f"rules type {tp!r} at {where} is not supported by the loader")


def parse_dataclass(cls: type, value: Any, *, file: str, key: str) -> Any:
    """A mapping into dataclass `cls`: every key known, every required one present, each
    value parsed by its field's type hint (or `parsed_by` parser). A class whose
    `NULL_IS_DEFAULT` is true takes `null` for "the default" on fields that cannot hold None."""
    where = f"{file}: key '{key or '<top>'}'"
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a mapping, got {value!r}")
    hints = typing.get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(value) - set(public), key=str)
    if unknown:
        first = unknown[0]
        raise RulesError(
            f"{file}: unknown key '{_join(key, first)}' (value {value[first]!r}); known keys here: "
            f"{', '.join(sorted(public))}"
        )
    if getattr(cls, "NULL_IS_DEFAULT", False):
        value = {name: v for name, v in value.items() if v is not None or type(None) in typing.get_args(hints[name])}
    missing = [name for name, f in public.items() if name not in value and _required(f)]
    if missing:
        raise RulesError(f"{file}: missing key '{_join(key, missing[0])}'")
    kwargs = {}
    for name, val in value.items():
        parser = public[name].metadata.get("parse")
        if parser is not None:
            kwargs[name] = parser(val, file=file, key=_join(key, name))
        else:
            kwargs[name] = parse(hints[name], val, file=file, key=_join(key, name))
    try:
        return cls(**kwargs)
    except FieldError as error:  # a value out of range: name its own key
        raise RulesError(f"{file}: key '{_join(key, error.key)}': {error.problem}") from None
    except (TypeError, ValueError) as error:
        raise RulesError(f"{where}: {error}") from None


def parse_fields(cls: type, items: Any, *, file: str, key: str) -> dict:
    """Some of dataclass `cls`'s keys (an override of a few of its values), each
    type-checked like the dataclass's own; returned as a plain mapping."""
    hints = {f.name: typing.get_type_hints(cls)[f.name] for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    if not isinstance(items, dict):
        raise RulesError(f"{file}: key '{key}': expected a mapping, got {items!r}")
    for name in items:
        if name not in hints:
            raise RulesError(
                f"{file}: unknown key '{key}.{name}' (value {items[name]!r}); known keys: {', '.join(sorted(hints))}"
            )
    return {name: parse(hints[name], v, file=file, key=f"{key}.{name}") for name, v in items.items()}


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _join(key: str, name: Any) -> str:
    return f"{key}.{name}" if key else str(name)
