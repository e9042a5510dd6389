"""Engine specs for the benchmark: ``name`` or ``name:key=value,key=value``.

Keys are fields of the engine's ``Config`` or of :class:`~cleanplate.api.RemoveOptions`
(``propagate:side_effects=auto``, ``telea:radius=3,dilate=6``), plus one benchmark option:
``oracle=1`` gives the engine the ground-truth quadmask (object + side-effect region) instead of
the object-only mask, e.g. ``telea:oracle=1`` is "Telea with an oracle side-effect mask".
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field

from ..api import RemoveOptions
from ..engines import engine_names, get_engine
from ..errors import InputError

log = logging.getLogger(__name__)

DEFAULT_ENGINES = ("propagate", "telea", "median", "input")
_BENCH_ONLY = {"oracle"}
_WRITE_ONLY = {"overwrite", "quality", "save_mask", "save_quadmask", "compare"}  # remove() to a file only


@dataclass
class EngineSpec:
    """One engine as the benchmark runs it. ``label`` is the spec as written (the report's name)."""

    label: str
    name: str
    options: dict = field(default_factory=dict)
    oracle: bool = False


def _convert(kind, text: str, where: str):
    origin = typing.get_args(kind)
    if origin:  # Optional[X] / X | None
        kind = next((k for k in origin if k is not type(None)), str)
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise InputError(where, f"{text!r} is not a boolean", "use 1/0 or true/false")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise InputError(where, f"{text!r} is not a valid {kind.__name__}") from None
    return text


def parse_engine_spec(text: str) -> EngineSpec:
    """Parse ``name[:key=value,...]``, checking the engine exists and every key is an option of it."""
    label = text.strip()
    name, _, rest = label.partition(":")
    name = name.strip()
    cls = get_engine(name)
    engine_hints = typing.get_type_hints(cls.Config)
    engine_fields = {f.name for f in dataclasses.fields(cls.Config)}
    remove_hints = typing.get_type_hints(RemoveOptions)
    remove_fields = {f.name for f in dataclasses.fields(RemoveOptions)} - _WRITE_ONLY
    spec = EngineSpec(label, name)
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        where = f"--engines {label}"
        if not sep:
            raise InputError(where, f"option {pair!r} has no value", "write key=value")
        if key == "oracle":
            spec.oracle = _convert(bool, value.strip(), where)
        elif key in engine_fields:
            spec.options[key] = _convert(engine_hints.get(key, str), value.strip(), where)
        elif key in remove_fields:
            spec.options[key] = _convert(remove_hints.get(key, str), value.strip(), where)
        else:
            valid = ", ".join(sorted(engine_fields | remove_fields | _BENCH_ONLY))
            raise InputError(where, f"{key!r} is not an option of engine '{name}'", f"valid options: {valid}")
    # Check the values now rather than after a long run: the same checks remove() makes.
    RemoveOptions(**{k: v for k, v in spec.options.items() if k in remove_fields}).check()
    cls.make_config(**{k: v for k, v in spec.options.items() if k in engine_fields})
    return spec


def parse_engine_specs(text: str | None) -> list[EngineSpec]:
    """A comma list of specs; options of one spec follow its colon, so split on commas *before* a name.

    ``"propagate:side_effects=auto,dilate=6,telea"`` is two specs: a part with ``=`` continues the
    previous spec's options. With ``text`` None: :data:`DEFAULT_ENGINES` that are installed.
    """
    if text is None:
        names = set(engine_names(available_only=True))
        chosen = [n for n in DEFAULT_ENGINES if n in names]
        skipped = [n for n in DEFAULT_ENGINES if n not in names]
        if skipped:
            log.warning("default engines not installed, skipped: %s", ", ".join(skipped))
        return [parse_engine_spec(n) for n in chosen]
    groups: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "=" in part and ":" not in part and groups:
            groups[-1] += "," + part
        else:
            groups.append(part)
    if not groups:
        raise InputError("--engines", "is empty", f"e.g. {','.join(DEFAULT_ENGINES)}")
    specs = [parse_engine_spec(g) for g in groups]
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise InputError("--engines", "lists the same engine spec twice", "give each spec once")
    return specs
