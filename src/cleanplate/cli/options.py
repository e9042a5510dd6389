"""Parse ``KEY=VALUE`` options against a typed config: ``-O`` for the engine's, ``-S`` for side effects'."""

from __future__ import annotations

import dataclasses
import typing

from ..engines import get_engine
from ..errors import InputError


def _convert(kind, text: str, key: str, flag: str):
    if kind is bool or kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise InputError(f"{flag} {key}={text}", "is not a boolean", "use true or false")
    for cast in (int, float):
        if kind is cast or kind == cast.__name__:
            try:
                return cast(text)
            except ValueError:
                raise InputError(f"{flag} {key}={text}", f"is not a valid {cast.__name__}",
                                 f"give {key} a number, e.g. {key}={cast(1)}") from None
    return text


def parse_pairs(cls, pairs: tuple[str, ...], flag: str, owner: str) -> dict:
    """``("window=60", ...)`` -> ``{"window": 60}``, typed by the fields of the dataclass ``cls``.

    ``flag`` (``-O``) and ``owner`` (``engine 'propagate'``) name the option in error messages.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            valid = ", ".join(sorted(fields)) or "none"
            raise InputError(f"{flag} {pair}", f"is not an option of {owner}", f"valid options: {valid}")
        out[key] = _convert(hints.get(key, str), value.strip(), key, flag)
    return out


def parse_engine_options(engine: str, pairs: tuple[str, ...]) -> dict:
    """``-O`` pairs, typed by the engine's config fields."""
    return parse_pairs(get_engine(engine).Config, pairs, "-O", f"engine '{engine}'")


def parse_side_effect_options(pairs: tuple[str, ...]) -> dict:
    """``-S`` pairs, typed by :class:`cleanplate.sideeffects.SideEffectConfig`'s fields."""
    if not pairs:
        return {}
    from ..sideeffects.config import SideEffectConfig

    return parse_pairs(SideEffectConfig, pairs, "-S", "side-effect estimation")
