"""Two-stage decoding of DDL test videos: the DDNet's frames of every candidate
clip first, the selected clips at full size on demand (:class:`ClipSource`)."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform, Compose

from ..pickle_state import state_without
from .checked_decord import CheckedDecordInit, _fail, decode_frames


def ddnet_frame_positions(clip_len: int, ddnet_frames: int) -> np.ndarray:
    """Positions in a clip of the frames the DDNet sees.

    Args:
        clip_len (int): Frames per clip.
        ddnet_frames (int): Frames the DDNet sees per clip.

    Returns:
        np.ndarray: ``floor(i * clip_len / ddnet_frames)`` for ``i <
        ddnet_frames`` (what ``DDLRecognizer.ddnet_views`` takes).
    """
    if not 1 <= ddnet_frames <= clip_len:
        raise ValueError(f'ddnet_frames={ddnet_frames} must be in [1, '
                         f'clip_len={clip_len}]')
    return np.arange(ddnet_frames) * clip_len // ddnet_frames


def _open(name: str, decode_size: Optional[Tuple[int, int]] = None):
    """A decord reader of ``name`` (optionally decoding at ``(w, h)``)."""
    results = dict(filename=name)
    if decode_size is None:
        return CheckedDecordInit().transform(results)['video_reader']
    import decord
    try:
        return decord.VideoReader(
            name, width=decode_size[0], height=decode_size[1], num_threads=1)
    except Exception as err:
        _fail(results, 'open', err)


def _run_pipeline(pipeline: Compose, frames: List, num_clips: int,
                  clip_len: int, name: str) -> np.ndarray:
    """``pipeline`` (spatial transforms + FormatShape) on decoded frames."""
    shape = frames[0].shape[:2]
    out = pipeline(
        dict(
            imgs=frames,
            num_clips=num_clips,
            clip_len=clip_len,
            modality='RGB',
            filename=name,
            img_shape=shape,
            original_shape=shape))
    imgs = out['imgs']
    if not isinstance(imgs, np.ndarray) or imgs.ndim != 5:
        raise ValueError(
            'DDLTwoStageDecode: the pipeline must end with '
            "FormatShape(input_format='NCTHW') (views, C, T, H, W); got "
            f'{type(imgs).__name__} of shape {np.shape(imgs)} for {name!r}')
    if imgs.shape[0] % num_clips:
        raise ValueError(f'{name!r}: the pipeline gave {imgs.shape[0]} views '
                         f'for {num_clips} clips (not a multiple)')
    return imgs


class ClipSource:
    """Lazy handle on a video's candidate clips, decoded on demand.

    Picklable (data loader workers pass it to the main process): it holds
    the file name, the clips' frame indices and the pipeline's config; the
    pipeline is built on first use.

    Args:
        filename (str): The video file.
        frame_inds (np.ndarray): (N, clip_len) frame indices of the
            candidate clips.
        pipeline (list[dict]): Spatial transforms + ``FormatShape``.
        ddnet_frames (int): Frames per clip decoded in stage 1.
        num_crops (int): Views per clip the pipeline makes.
    """

    def __init__(self, filename: str, frame_inds: np.ndarray,
                 pipeline: Sequence[dict], ddnet_frames: int,
                 num_crops: int) -> None:
        frame_inds = np.asarray(frame_inds, dtype=np.int64)
        if frame_inds.ndim != 2 or 0 in frame_inds.shape:
            raise ValueError(f'{filename!r}: frame_inds must be (N, '
                             f'clip_len), got shape {frame_inds.shape}')
        self.filename = filename
        self.frame_inds = frame_inds
        self.pipeline_cfg = copy.deepcopy(list(pipeline))
        self.ddnet_frames = int(ddnet_frames)
        self.num_crops = int(num_crops)
        self._pipeline = None

    @property
    def num_clips(self) -> int:
        """Candidate clips N."""
        return self.frame_inds.shape[0]

    @property
    def clip_len(self) -> int:
        """Frames per clip."""
        return self.frame_inds.shape[1]

    def __getstate__(self) -> dict:
        return state_without(self, _pipeline=None)

    def __repr__(self) -> str:
        return (f'ClipSource({self.filename!r}, clips={self.num_clips}, '
                f'clip_len={self.clip_len}, crops={self.num_crops})')

    def load(
        self, clip_indices: Union[Sequence[int], np.ndarray, torch.Tensor]
    ) -> torch.Tensor:
        """Decode clips at full resolution and run the pipeline on them.

        Args:
            clip_indices (Sequence[int] | Tensor): Clips to load, in the
                order wanted (indices into the N candidates).

        Returns:
            Tensor: (k * num_crops, C, clip_len, H, W) views of the k clips,
            crop-major (view ``crop * k + j`` is crop ``crop`` of clip
            ``clip_indices[j]``), as the decode + ``FormatShape`` gives them,
            in their memory layout (uint8 unless a transform changed the
            type).
        """
        if isinstance(clip_indices, torch.Tensor):
            clip_indices = clip_indices.cpu().numpy()
        idx = np.asarray(clip_indices, dtype=np.int64).ravel()
        if idx.size == 0:
            raise ValueError(f'{self.filename!r}: no clips to load')
        bad = idx[(idx < 0) | (idx >= self.num_clips)]
        if bad.size:
            raise IndexError(f'{self.filename!r}: clip indices '
                             f'{bad.tolist()} out of range for '
                             f'{self.num_clips} candidate clips')
        if self._pipeline is None:
            self._pipeline = Compose(
                [TRANSFORMS.build(t) for t in self.pipeline_cfg])
        reader = _open(self.filename)
        frames = decode_frames(reader, self.frame_inds[idx], self.filename)
        del reader
        imgs = _run_pipeline(self._pipeline, frames, idx.size, self.clip_len,
                             self.filename)
        if imgs.shape[0] != idx.size * self.num_crops:
            raise ValueError(
                f'{self.filename!r}: stage 2 gave {imgs.shape[0]} views for '
                f'{idx.size} clips, stage 1 {self.num_crops} crops per clip')
        if any(stride < 0 for stride in imgs.strides):  # torch needs >= 0
            imgs = np.ascontiguousarray(imgs)
        # FormatShape's layout is kept (no copy): the model expects it
        return torch.from_numpy(imgs)


@TRANSFORMS.register_module()
class DDLTwoStageDecode(BaseTransform):
    """Stage 1 of two-stage decoding for ``DDLRecognizer``.

    It replaces ``DecordDecode`` + the spatial / ``FormatShape`` transforms
    of a DDL test pipeline (after ``CheckedDecordInit`` and
    ``SampleFrames``). Per candidate clip only the ``ddnet_frames`` frames
    the DDNet sees (clip positions ``floor(i * clip_len / ddnet_frames)``,
    as ``DDLRecognizer.ddnet_views`` takes them) are decoded, each distinct
    frame once; ``pipeline`` makes their views (``imgs``: (N * crops, C,
    ddnet_frames, H, W), crop-major). ``ddl_clip_source`` is a
    :class:`ClipSource` from which the recognizer decodes the selected
    clips at full length (add it to ``PackActionInputs``' ``meta_keys``).

    With ``ddnet_decode_size`` decord decodes the stage-1 frames already
    resized to it and ``ddnet_pipeline`` (default ``pipeline``) makes their
    views: faster, but the DDNet then sees decord's resampling instead of
    the recognizer's bilinear resize of the full-size crop (D-scores differ
    slightly). Give crop sizes at the decoded size in ``ddnet_pipeline``.

    ``one_stage=True`` decodes every clip in full and runs ``pipeline``
    (``DecordDecode`` + the transforms; no clip source): the dense baseline
    of the same config, e.g. ``--cfg-options
    test_dataloader.dataset.pipeline.2.one_stage=True``.

    Args:
        ddnet_frames (int): Frames per clip for the DDNet (the DDL model's
            ``ddnet_input.num_frames``, or the clip length if it is None).
        pipeline (list[dict]): Spatial transforms ending with
            ``FormatShape(input_format='NCTHW')``, applied in both stages.
        ddnet_decode_size (int | tuple[int, int], optional): Decode stage 1
            at this size: an int is the short side (aspect kept), a tuple
            ``(w, h)``. None (default): full size, so the DDNet's input is
            identical to one-stage decoding.
        ddnet_pipeline (list[dict], optional): The stage-1 pipeline when
            ``ddnet_decode_size`` is set; defaults to ``pipeline``.
        one_stage (bool): Decode all clips in full instead (see above).
            Defaults to False.
    """

    def __init__(self,
                 ddnet_frames: int,
                 pipeline: Sequence[dict],
                 ddnet_decode_size: Optional[Union[int, Tuple[int,
                                                              int]]] = None,
                 ddnet_pipeline: Optional[Sequence[dict]] = None,
                 one_stage: bool = False) -> None:
        if int(ddnet_frames) < 1:
            raise ValueError(f'ddnet_frames must be >= 1, got {ddnet_frames}')
        if not pipeline:
            raise ValueError('DDLTwoStageDecode needs a pipeline ending with '
                             "FormatShape(input_format='NCTHW')")
        if ddnet_decode_size is not None:
            size = (ddnet_decode_size, ) if isinstance(
                ddnet_decode_size, int) else tuple(ddnet_decode_size)
            if len(size) not in (1, 2) or min(size) < 1:
                raise ValueError('ddnet_decode_size must be an int (short '
                                 'side) or (w, h) >= 1, got '
                                 f'{ddnet_decode_size}')
        if ddnet_pipeline is not None and ddnet_decode_size is None:
            raise ValueError('ddnet_pipeline is only used with '
                             'ddnet_decode_size; stage 1 at full size runs '
                             '`pipeline`')
        self.ddnet_frames = int(ddnet_frames)
        self.one_stage = bool(one_stage)
        self.pipeline_cfg = copy.deepcopy(list(pipeline))
        self.ddnet_decode_size = ddnet_decode_size
        self.pipeline = Compose([TRANSFORMS.build(t) for t in pipeline])
        self.ddnet_pipeline = self.pipeline if ddnet_pipeline is None else \
            Compose([TRANSFORMS.build(t) for t in ddnet_pipeline])

    def _decode_size(self, reader) -> Tuple[int, int]:
        """(w, h) of the stage-1 decode."""
        if not isinstance(self.ddnet_decode_size, int):
            return tuple(int(s) for s in self.ddnet_decode_size)
        h, w = reader[0].shape[:2]
        s = self.ddnet_decode_size / min(h, w)
        return (self.ddnet_decode_size, round(h * s)) if w <= h else \
            (round(w * s), self.ddnet_decode_size)

    def transform(self, results: dict) -> dict:
        """Decode the DDNet's frames of all candidate clips.

        Args:
            results (dict): Needs ``video_reader`` (``CheckedDecordInit``),
                ``frame_inds``, ``num_clips`` and ``clip_len``
                (``SampleFrames``) and ``filename``.

        Returns:
            dict: ``results`` with the stage-1 ``imgs``, ``ddnet_frames``
            and ``ddl_clip_source``; the reader is released.
        """
        name = results.get('filename', '<unknown>')
        missing = [
            k for k in ('video_reader', 'frame_inds', 'num_clips', 'clip_len')
            if k not in results
        ]
        if missing:
            raise KeyError(f'DDLTwoStageDecode needs {missing} for {name!r}: '
                           'put CheckedDecordInit and SampleFrames before it')
        num_clips, clip_len = int(results['num_clips']), results['clip_len']
        if isinstance(clip_len, dict):
            clip_len = clip_len['RGB']
        clip_len = int(clip_len)
        inds = np.asarray(results['frame_inds'], dtype=np.int64).ravel()
        if inds.size != num_clips * clip_len:
            raise ValueError(f'{name!r}: {inds.size} frame indices for '
                             f'{num_clips} clips x {clip_len} frames')
        inds = inds.reshape(num_clips, clip_len)
        reader = results['video_reader']
        if self.one_stage:
            frames = decode_frames(reader, inds, name)
            results['video_reader'] = None
            del reader
            imgs = _run_pipeline(self.pipeline, frames, num_clips, clip_len,
                                 name)
            results.update(
                imgs=imgs,
                input_shape=imgs.shape,
                img_shape=imgs.shape[-2:],
                original_shape=frames[0].shape[:2])
            return results
        sub = inds[:, ddnet_frame_positions(clip_len, self.ddnet_frames)]
        pipeline = self.pipeline
        if self.ddnet_decode_size is not None:
            try:
                size = self._decode_size(reader)
            except Exception as err:
                _fail(results, 'decode frames of', err)
            reader = _open(name, size)
            pipeline = self.ddnet_pipeline
        frames = decode_frames(reader, sub, name)
        results['video_reader'] = None
        del reader
        imgs = _run_pipeline(pipeline, frames, num_clips, self.ddnet_frames,
                             name)
        crops = imgs.shape[0] // num_clips
        results['imgs'] = imgs
        results['input_shape'] = imgs.shape
        results['img_shape'] = imgs.shape[-2:]
        results['original_shape'] = frames[0].shape[:2]
        results['ddnet_frames'] = self.ddnet_frames
        results['ddl_clip_source'] = ClipSource(name, inds, self.pipeline_cfg,
                                                self.ddnet_frames, crops)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ddnet_frames={self.ddnet_frames}, '
                f'ddnet_decode_size={self.ddnet_decode_size}, '
                f'one_stage={self.one_stage}, '
                f'pipeline={self.pipeline_cfg})')
