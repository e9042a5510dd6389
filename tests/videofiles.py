"""Build tiny video files for the I/O tests (PyAV, a few frames, a few kilobytes)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(path, frames, fps=25, codec="libx264", pix_fmt="yuv420p", fmt=None, rotation=None,
                hflip=False, timestamps=None, audio_seconds=None, options=None, in_format="rgb24") -> Path:
    """Encode ``frames`` ``(T, H, W, C) uint8`` into ``path``.

    ``rotation``: display-matrix rotation in degrees counter-clockwise (as phones store it);
    ``timestamps``: seconds per frame for a variable frame rate; ``audio_seconds``: add an AAC tone.
    """
    path = Path(path)
    frames = np.asarray(frames)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        if options:
            stream.options = dict(options)
        if timestamps is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None or hflip:
            stream.set_display_rotation(rotation or 0, hflip=hflip)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=48000)
            audio.layout = "mono"
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=in_format)
            if timestamps is not None:
                vf.pts = int(round(timestamps[i] * 1000))
                vf.time_base = Fraction(1, 1000)
            else:
                vf.pts = i
                vf.time_base = 1 / rate
            container.mux(stream.encode(vf))
        container.mux(stream.encode(None))
        if audio is not None:
            n = int(48000 * audio_seconds)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[None, start:start + 1024]
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                af.sample_rate = 48000
                af.pts = start
                container.mux(audio.encode(af))
            container.mux(audio.encode(None))
    return path


def audio_packets(path) -> list[bytes]:
    """The payload of every audio packet of the first audio stream, in order."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def stream_facts(path) -> dict:
    """Size, rate, frame count (decoded), pixel format of a file's video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [f for f in container.decode(stream)]
        return {"width": decoded[0].width, "height": decoded[0].height, "frames": len(decoded),
                "rate": stream.average_rate, "pix_fmt": stream.codec_context.pix_fmt,
                "times": [float(f.time) for f in decoded]}


def textured(t: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """``(t, h, w, 3) uint8`` smooth random frames (compress well, survive H.264 nearly intact)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (t, max(h // 8, 2), max(w // 8, 2), 3)).astype(np.uint8)
    return np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_CUBIC) for s in small])


def square_masks(t: int, h: int, w: int, size: int, step: int, white: int = 255, black: int = 0) -> np.ndarray:
    """``(t, h, w, 3)`` binary masks: a ``size`` square that moves ``step`` pixels right per frame."""
    masks = np.full((t, h, w, 3), black, np.uint8)
    for i in range(t):
        masks[i, 4:4 + size, 4 + i * step:4 + i * step + size] = white
    return masks
