"""Engine specs for the benchmark: ``name`` or ``name:key=value,key=value``.

Keys are fields of the engine's ``Config`` or of :class:`~cleanplate.api.RemoveOptions`
(``propagate:side_effects=auto``, ``telea:radius=3,dilate=6``), plus one benchmark option:
``oracle=1`` gives the engine the ground-truth quadmask (object + side-effect region) instead of
the object-only mask, e.g. ``telea:oracle=1`` is "Telea with an oracle side-effect mask".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..api import RemoveOptions
from ..engines import engine_names, get_engine
from ..errors import InputError
from ..typed import coerce, field_types

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


def parse_engine_spec(text: str) -> EngineSpec:
    """Parse ``name[:key=value,...]``, checking the engine exists and every key is an option of it."""
    label = text.strip()
    name, _, rest = label.partition(":")
    name = name.strip()
    cls = get_engine(name)
    engine_types = field_types(cls.Config)
    remove_types = {k: v for k, v in field_types(RemoveOptions).items() if k not in _WRITE_ONLY}
    spec = EngineSpec(label, name)
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        where = f"--engines {label}"
        if not sep:
            raise InputError(where, f"option {pair!r} has no value", "write key=value")
        kind = bool if key == "oracle" else engine_types.get(key, remove_types.get(key))
        if kind is None:
            valid = ", ".join(sorted(engine_types.keys() | remove_types.keys() | _BENCH_ONLY))
            raise InputError(where, f"{key!r} is not an option of engine '{name}'", f"valid options: {valid}")
        typed = coerce(kind, value.strip(), key, f"{where}: {key}={value.strip()}")
        if key == "oracle":
            spec.oracle = typed
        else:
            spec.options[key] = typed
    # Check the values now rather than after a long run: the same checks remove() makes.
    RemoveOptions(**{k: v for k, v in spec.options.items() if k in remove_types}).check()
    cls.make_config(**{k: v for k, v in spec.options.items() if k in engine_types})
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
