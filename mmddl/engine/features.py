"""One pooled feature per element (view) from a stock OpenMMLab model.

mmaction2 recognizers, mmpretrain classifiers, any ``extract_feat`` model."""
import sys
from typing import Any, Sequence, Union

import torch
from torch import Tensor, nn

from mmddl.models.utils.pooling import global_pool


def _is_instance_of(model: nn.Module, module: str, cls_name: str) -> bool:
    """isinstance check that never imports ``module`` (cheap if unused)."""
    mod = sys.modules.get(module)
    cls = getattr(mod, cls_name, None) if mod is not None else None
    return cls is not None and isinstance(model, cls)


def model_family(model: nn.Module) -> str:
    """``'mmaction'``, ``'mmpretrain'`` or ``'generic'``."""
    if _is_instance_of(model, 'mmaction.models.recognizers.base',
                       'BaseRecognizer'):
        return 'mmaction'
    if _is_instance_of(model, 'mmpretrain.models.classifiers.base',
                       'BaseClassifier'):
        return 'mmpretrain'
    return 'generic'


def pool_outputs(out: Union[Tensor, Sequence[Tensor]], family: str) -> Tensor:
    """Turn ``extract_feat`` outputs into (N, d) features.

    Args:
        out (Tensor | Sequence[Tensor]): a tensor, or a tuple of tensors.
        family (str): see :func:`model_family`. For ``'mmaction'`` a tuple is a
            multi-pathway output (SlowFast: ``(slow, fast)``): each pathway is
            pooled and they are concatenated as ``(fast, slow)``, like
            mmaction's ``SlowFastHead``. Otherwise a tuple is a list of stage
            outputs and the last one is used.

    Returns:
        (N, d) features.
    """
    if isinstance(out, Tensor):
        return global_pool(out)
    if not isinstance(out, (tuple, list)) or not out:
        raise TypeError('extract_feat returned an unsupported output '
                        f'({type(out).__name__}); expected a tensor or a '
                        'non-empty tuple of tensors')
    if family == 'mmaction':
        pooled = [global_pool(o) for o in out]
        if len(pooled) == 2:
            pooled = pooled[::-1]  # (slow, fast) -> (fast, slow)
        return torch.cat(pooled, dim=1)
    return global_pool(out[-1])


def extract_features(model: nn.Module,
                     data_batch: Any,
                     stage: str = 'neck') -> Tensor:
    """Run the model's preprocessor and ``extract_feat``; pool per element.

    mmaction2 recognizers (``Recognizer3D`` / ``Recognizer2D``: their
    ``extract_feat`` returns ``(feats, kwargs)``; SlowFast backbones return
    a ``(slow, fast)`` tuple), mmpretrain classifiers (``ImageClassifier``:
    ``extract_feat`` returns a tuple of stage/neck outputs) and any model
    whose ``extract_feat(inputs)`` returns a tensor or a tuple of tensors.

    The model is run in eval mode under ``torch.no_grad()`` (its training
    flag is restored afterwards).

    Args:
        model (nn.Module): an (unwrapped) OpenMMLab model with
            ``data_preprocessor`` and ``extract_feat``.
        data_batch (Any): a collated batch (``dict(inputs=...,
            data_samples=...)``).
        stage (str): the ``extract_feat`` stage (mmaction: ``'backbone'`` or
            ``'neck'``, mmpretrain: ``'backbone'``, ``'neck'`` or
            ``'pre_logits'``); ignored for generic models.

    Returns:
        (B * V, d) features, row ``b * V + v`` = view ``v`` of sample ``b``
        (mmaction inputs are (B, V, ...); mmpretrain images have V = 1).
    """
    family = model_family(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
            inputs = data['inputs']
            if not isinstance(inputs, Tensor):
                raise TypeError('extract_features needs tensor inputs after '
                                f'the data preprocessor, got '
                                f'{type(inputs).__name__}')
            if family == 'mmaction':
                if inputs.dim() < 3:
                    raise ValueError('mmaction inputs must be (B, V, ...), '
                                     f'got shape {tuple(inputs.shape)}')
                num_elems = inputs.shape[0] * inputs.shape[1]
                out, _ = model.extract_feat(
                    inputs, stage=stage, test_mode=False)
            elif family == 'mmpretrain':
                num_elems = inputs.shape[0]
                out = model.extract_feat(inputs, stage=stage)
            else:
                num_elems = None
                out = model.extract_feat(inputs)
                if (isinstance(out, tuple) and len(out) == 2
                        and isinstance(out[1], dict)):
                    out = out[0]
            feats = pool_outputs(out, family)
    finally:
        model.train(was_training)
    if num_elems is not None and feats.shape[0] != num_elems:
        raise ValueError(
            f'extract_feat(stage={stage!r}) gave {feats.shape[0]} features '
            f'for {num_elems} input views (a neck that merges segments?); '
            "use stage='backbone' to get one feature per view")
    return feats.float()
