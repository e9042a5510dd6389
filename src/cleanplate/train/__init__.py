"""Training the diffusion engine (UnderEraser): flow matching, OIRD, keyframe training.

Needs the ``diffusion`` extra (torch, transformers, safetensors, pyyaml). Modules:

- :mod:`.config`: ``TrainConfig`` and its sections, ``load_config(path)``.
- :mod:`.sample`, :mod:`.keyframes`: one training sample; side-effect masks (eqs. 1-2);
  keyframe replacement (sec. 3.4).
- :mod:`.data`: sources of pairs (toy, users' folders, any Python iterable such as synthetic pairs)
  and the seeded, resumable batch stream.
- :mod:`.grid`, :mod:`.oird`, :mod:`.teacher`: the token grid, relation distillation (eqs. 3-4)
  and its frozen teacher.
- :mod:`.models`, :mod:`.toy`: the model contract and registry; the tiny toy model.
- :mod:`.wrapper`: ``FlowMatchingWrapper.loss(batch)``, the whole objective (eq. 5 + OIRD).
- :mod:`.trainer`: ``train(config)``, the loop; :mod:`.ema`, :mod:`.checkpoint`, :mod:`.log`.

Importing this package imports nothing heavy; the modules that need torch import it themselves.
"""
