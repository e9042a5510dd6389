"""Seeded synthetic paired clips: an object, its side effect, and the clean plate.

- :func:`generate_clip` renders one clip in memory; :func:`sample_spec` + :func:`render_frames`
  stream one frame at a time (long clips);
- :func:`write_dataset` writes clips to disk (``cleanplate synth``);
- :class:`SynthDataset` yields clips on the fly for training.

Modules: ``scene`` (layered backgrounds, camera), ``sprite`` (the object), ``motion`` (camera and
object paths), ``effects`` (shadow, reflection, light, translucency), ``generate`` (one clip),
``files`` (on disk), ``dataset`` (training).
"""

from .dataset import SynthDataset
from .effects import SIDE_THRESHOLD
from .files import dataset_specs, write_clip, write_dataset
from .generate import (CATEGORIES, ClipSpec, SynthClip, SynthFrame, generate_clip, make_quadmask, parse_size,
                       render_frames, sample_spec)
from .motion import CAMERA_MOTIONS, OBJECT_MOTIONS

__all__ = ["generate_clip", "sample_spec", "render_frames", "write_clip", "write_dataset", "dataset_specs",
           "SynthDataset", "SynthClip", "SynthFrame", "ClipSpec", "make_quadmask", "CATEGORIES",
           "CAMERA_MOTIONS", "OBJECT_MOTIONS", "SIDE_THRESHOLD", "parse_size"]
