"""The benchmark: synthetic paired data, metrics, and ``cleanplate bench``.

- :mod:`.synth`: seeded paired clips (object, side effect, clean plate);
- :mod:`.metrics`: PSNR, SSIM (whole frame and per region), warping error, LPIPS/VFID when weights
  are given;
- :mod:`.loaders`: paired datasets on disk (our synth layout, ROSE-Bench style, DAVIS style);
- :mod:`.runner`: run engines on clips and collect results; :mod:`.report`, :mod:`.plots`;
- :mod:`.speed`: frames per second and peak memory against resolution and length.
"""
