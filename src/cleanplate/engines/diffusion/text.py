"""The text context: the transformer's cross-attention always sees an empty prompt.

Object removal has nothing to say in words, so the prompt is empty and its encoding is computed
once. Wan2.1 encodes prompts with UMT5-XXL and keeps only the real tokens, zero-padding to 512;
the empty prompt is a single end-of-sequence token. Without a text encoder the context is all zeros.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)


@torch.no_grad()
def empty_prompt_context(text_encoder: Path | torch.nn.Module, text_len: int) -> torch.Tensor:
    """``(1, text_len, dim)``: the encoding of ``""`` (its one EOS token), zero-padded as Wan2.1 does.

    ``text_encoder`` is a transformers T5/UMT5 encoder or a local folder holding one.
    """
    if isinstance(text_encoder, (str, Path)):
        from transformers import UMT5EncoderModel

        log.info("encoding the empty prompt with %s", text_encoder)
        text_encoder = UMT5EncoderModel.from_pretrained(str(text_encoder))
    config = text_encoder.config
    ids = torch.tensor([[config.eos_token_id]], device=text_encoder.device)
    hidden = text_encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state.float().cpu()
    out = torch.zeros(1, text_len, hidden.shape[-1])
    out[:, : hidden.shape[1]] = hidden
    return out
