"""Parse ``-O key=value`` engine options against the engine's typed config."""

from __future__ import annotations

import dataclasses
import typing

from ..engines import get_engine
from ..errors import InputError


def _convert(kind, text: str, key: str):
    if kind is bool or kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise InputError(f"-O {key}={text}", "is not a boolean", "use true or false")
    for cast in (int, float):
        if kind is cast or kind == cast.__name__:
            try:
                return cast(text)
            except ValueError:
                raise InputError(f"-O {key}={text}", f"is not a valid {cast.__name__}") from None
    return text


def parse_engine_options(engine: str, pairs: tuple[str, ...]) -> dict:
    """``("window=60", ...)`` -> ``{"window": 60}``, typed by the engine's config fields."""
    cls = get_engine(engine)
    hints = typing.get_type_hints(cls.Config)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            valid = ", ".join(sorted(fields)) or "none"
            raise InputError(f"-O {pair}", f"is not an option of engine '{engine}'", f"valid options: {valid}")
        out[key] = _convert(hints.get(key, str), value.strip(), key)
    return out
