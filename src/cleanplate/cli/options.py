"""Parse ``KEY=VALUE`` options against a typed config: ``-O`` for the engine's, ``-S`` for side effects'."""

from __future__ import annotations

from ..engines import get_engine
from ..errors import InputError
from ..typed import coerce, field_types


def parse_pairs(cls, pairs: tuple[str, ...], flag: str, owner: str) -> dict:
    """``("window=60", ...)`` -> ``{"window": 60}``, typed by the fields of the dataclass ``cls``.

    ``flag`` (``-O``) and ``owner`` (``engine 'propagate'``) name the option in error messages.
    """
    types = field_types(cls)
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in types:
            valid = ", ".join(sorted(types)) or "none"
            raise InputError(f"{flag} {pair}", f"is not an option of {owner}", f"valid options: {valid}")
        out[key] = coerce(types[key], value.strip(), key, f"{flag} {key}={value.strip()}")
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
