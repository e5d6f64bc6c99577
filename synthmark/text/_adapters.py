"""Adapters of :class:`~synthmark.text.statistical.GreenList` for generation frameworks.

* Hugging Face ``transformers``: :func:`hf_logits_processor` gives a ``LogitsProcessor`` for
  ``model.generate(..., logits_processor=LogitsProcessorList([...]))`` (torch and transformers
  are imported only here, on call);
* any other engine: the :class:`GreenList` itself is the plain callable
  ``(input_ids, logits) -> logits`` (numpy or torch), and :meth:`GreenList.sample` samples.
"""

from __future__ import annotations

from typing import Any

from synthmark.errors import WatermarkError
from synthmark.text.statistical import GreenList

__all__ = ["hf_logits_processor"]


def hf_logits_processor(green: GreenList) -> Any:
    """A ``transformers.LogitsProcessor`` adding ``green.delta`` to the green candidates of
    each row (``scores`` of shape ``(batch, vocab)``, any device and float dtype)."""
    try:
        import torch
        from transformers import LogitsProcessor
    except ImportError as exc:
        raise WatermarkError(
            "the Hugging Face adapter needs torch and transformers", fix="pip install torch transformers"
        ) from exc

    class GreenListLogitsProcessor(LogitsProcessor):  # type: ignore[misc]
        """synthmark's keyed green-list bias (KGW, context width 1)."""

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if input_ids.shape[-1] == 0:
                return scores
            previous = input_ids[:, -1].detach().cpu().numpy()
            mask = torch.from_numpy(green.green_mask(previous, scores.shape[-1])).to(scores.device)
            return scores + green.delta * mask.to(scores.dtype)

    return GreenListLogitsProcessor()
