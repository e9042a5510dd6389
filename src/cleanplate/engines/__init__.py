"""Engines, registered by name.

An engine module registers its class when it imports; a module whose optional dependency is
missing still registers, but ``is_available()`` is false and :func:`get_engine` says what to
install. Baselines (``telea``, ``median``, ``input``) are engines too, so the benchmark runs them
through the same interface.
"""

from __future__ import annotations

import importlib

from ..errors import EngineUnavailable, InputError
from .base import Engine

_REGISTRY: dict[str, type[Engine]] = {}
_BUILTIN_MODULES = ("propagate", "baselines", "diffusion")
_loaded = False


def register(cls: type[Engine]) -> type[Engine]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as err:  # an engine package not written yet
            if err.name != f"{__name__}.{module}":
                raise


def engine_names(available_only: bool = False) -> list[str]:
    """Names of registered engines."""
    _load_builtins()
    return sorted(n for n, c in _REGISTRY.items() if c.is_available() or not available_only)


def get_engine(name: str) -> type[Engine]:
    """The engine class registered as ``name``; a clear error if unknown or unavailable."""
    _load_builtins()
    if name not in _REGISTRY:
        raise InputError(f"--engine {name}", "no such engine", f"choose one of: {', '.join(engine_names())}")
    cls = _REGISTRY[name]
    if not cls.is_available():
        raise EngineUnavailable(f"engine '{name}' is not installed — {cls.install_hint}")
    return cls


__all__ = ["Engine", "register", "get_engine", "engine_names"]
