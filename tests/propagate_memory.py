"""Peak memory of the ``propagate`` engine on a long synthetic 480p clip, streamed.

Run from the repository root (each length in its own process, so peaks do not mix)::

    PYTHONPATH=src:tests python tests/propagate_memory.py 250     # 10 s at 25 fps
    PYTHONPATH=src:tests python tests/propagate_memory.py 7500    # 5 min

Frames are generated on the fly (a camera panning back and forth over a photo strip, a moving
textured ellipse), go through ``cleanplate.remove_iter`` and are dropped, so the peak resident
memory measured is the library's own.
"""

from __future__ import annotations

import resource
import sys
import time

import cv2
import numpy as np

import cleanplate
from cleanplate import quadmask
from cleanplate.clip import Clip, VideoInfo
from propagate_clips import _object, _strip


def long_clip(frames: int, width: int = 854, height: int = 480) -> Clip:
    strip = _strip(round(height * 1.2))
    texture, shape = _object((150, 195))
    span = strip.shape[1] - width - 1

    def camera(t: int) -> np.ndarray:
        x = span / 2 + span / 2 * np.sin(2 * np.pi * t / 600)  # back and forth, period 24 s
        return np.array([[1.0, 0, x], [0, 1.0, (strip.shape[0] - height) / 2]])

    def position(t: int) -> tuple[int, int]:
        return (int((width - 195) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 97))),
                int((height - 150) * (0.5 + 0.3 * np.cos(2 * np.pi * t / 131))))

    def frames_():
        for t in range(frames):
            frame = cv2.warpAffine(strip, camera(t), (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
            x, y = position(t)
            frame[y:y + 150, x:x + 195][shape] = texture[shape]
            yield frame

    def masks_():
        for t in range(frames):
            mask = np.zeros((height, width), bool)
            x, y = position(t)
            mask[y:y + 150, x:x + 195] = shape
            yield quadmask.from_binary(mask)

    return Clip(VideoInfo(width, height, 25.0, frames), frames_, masks_)


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    clip = long_clip(frames)
    start = time.process_time()
    count = 0
    for _ in cleanplate.remove_iter(clip, None, engine="propagate"):
        count += 1
    cpu = time.process_time() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count} frames 854x480: peak RSS {peak_mb:.0f} MB, cpu {1000 * cpu / count:.1f} ms/frame")


if __name__ == "__main__":
    main()
