"""The diffusion model that ships inside the package, used when no ``--model`` is given.

It lives in ``cleanplate/models/<SHIPPED>/`` (a cleanplate checkpoint folder, see
:mod:`.weights`) beside its training record (``training/``: the loss logs and plots of both
stages and the configs). It was trained by ``cleanplate train shipped`` on synthetic pairs, on a
CPU, in minutes: a small model that shows the method end to end, not a production model. Its
working size and window are in its ``model_index.json`` ``defaults`` (see :func:`model_defaults`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SHIPPED = "undereraser-tiny"
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def shipped_model() -> Path | None:
    """The shipped model's folder, or None when this installation carries none."""
    folder = MODELS_DIR / SHIPPED
    return folder if (folder / "model_index.json").is_file() else None


def model_defaults(model: str | os.PathLike) -> dict:
    """Engine options a model folder asks for (``model_index.json`` ``defaults``: e.g. the
    ``resolution`` and ``window`` it was trained at); empty for folders that name none."""
    index = Path(model).expanduser() / "model_index.json"
    if not index.is_file():
        return {}
    try:
        return dict(json.loads(index.read_text()).get("defaults", {}))
    except (OSError, ValueError, AttributeError):
        return {}
