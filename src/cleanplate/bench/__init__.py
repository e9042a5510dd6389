"""The benchmark: synthetic paired data, metrics, and ``cleanplate bench`` (see docs/bench.md).

- :mod:`.synth`: seeded paired clips (object, side effect, clean plate);
- :mod:`.metrics`: PSNR, SSIM (whole frame and per region), warping error; :mod:`.lpips` and
  :mod:`.vfid` when local weights are given;
- :mod:`.loaders`: paired datasets on disk (synth, ROSE-Bench style, DAVIS style) or generated;
- :mod:`.specs`: engine specs such as ``telea:oracle=1``;
- :mod:`.runner`: run engines on clips and collect results; :mod:`.report`, :mod:`.plots`,
  :mod:`.grids` present them; :mod:`.measure` times and samples memory;
- :mod:`.speed`: frames per second and peak memory against resolution and length.
"""
