"""Option values checked against the type of the dataclass field they set.

Options reach cleanplate as text (``-O window=60`` on the command line, ``propagate:dilate=6`` in a
benchmark spec) or as Python values (``cleanplate.remove(..., window=60)``). Both go through
:func:`coerce`: text is parsed, a value of the right type passes, and anything else is refused in one
line that names the option, rather than failing later, deep in the work, with a ``TypeError``.
"""

from __future__ import annotations

import dataclasses
import numbers
import typing

import numpy as np

from .errors import InputError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def field_types(cls) -> dict[str, object]:
    """``{field name: its type}`` of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(cls)}


def _split_optional(kind) -> tuple[object, bool]:
    """``(X, True)`` for ``X | None`` / ``Optional[X]``; ``(kind, False)`` otherwise."""
    args = typing.get_args(kind)
    if args and type(None) in args:
        return next((k for k in args if k is not type(None)), str), True
    return kind, False


def coerce(kind, value, key: str, subject: str):
    """``value`` as the field type ``kind``; ``subject`` names the option in the error.

    Text is parsed for ``bool`` (1/0, true/false, yes/no, on/off), ``int`` and ``float``; an ``int``
    is a valid ``float``; a ``bool`` is not a number. ``None`` passes only where the field allows it.
    Types other than ``bool``, ``int``, ``float``, ``str`` and ``dict`` are not checked.
    """
    kind, optional = _split_optional(kind)
    if value is None:
        if optional:
            return None
        raise InputError(subject, "has no value", f"give {key} a value")
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise InputError(subject, "is not a boolean", "use true or false")
    if kind in (int, float):
        if isinstance(value, str):
            try:
                return kind(value.strip())
            except ValueError:
                pass
        elif not isinstance(value, bool) and isinstance(value, numbers.Integral if kind is int else numbers.Real):
            return kind(value)
        number = "a whole number" if kind is int else "a number"
        raise InputError(subject, f"is not a valid {kind.__name__}", f"give {key} {number}, e.g. {key}={kind(1)}")
    if kind is str and not isinstance(value, str):
        raise InputError(subject, "is not text", f"give {key} as a string")
    if kind is dict and not isinstance(value, dict):
        raise InputError(subject, "is not a dict", f"give {key} as {{name: value}}")
    return value


def coerce_fields(cls, values: dict, subject: typing.Callable[[str, object], str]) -> dict:
    """``values`` with every key that is a field of the dataclass ``cls`` coerced to its type
    (other keys are left for the caller to refuse); ``subject(key, value)`` names one in errors."""
    types = field_types(cls)
    return {k: coerce(types[k], v, k, subject(k, v)) if k in types else v for k, v in values.items()}
