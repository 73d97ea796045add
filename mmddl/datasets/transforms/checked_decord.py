"""Decord transforms that raise :class:`VideoDecodeError` naming the video."""
import os.path as osp
from typing import List

import numpy as np
from mmaction.datasets.transforms import DecordDecode, DecordInit
from mmaction.registry import TRANSFORMS


class VideoDecodeError(RuntimeError):
    """A video file could not be opened or decoded."""


def _fail(results: dict, stage: str, err: Exception) -> None:
    name = results.get('filename', results.get('frame_dir', '<unknown>'))
    if isinstance(name, str) and '://' not in name and not osp.exists(name):
        raise VideoDecodeError(
            f'cannot {stage} video {name!r}: the file is missing (no such '
            'file). Check data_prefix and the data list, or remove the '
            'video from the list.') from err
    raise VideoDecodeError(
        f'cannot {stage} video {name!r}: {type(err).__name__}: {err}. '
        'The file is corrupt or truncated: re-encode or re-download it, or '
        'remove it from the data list.') from err


def unique_batch(reader, frame_inds: np.ndarray) -> List:
    """Frames at ``frame_inds`` (any order, repeats allowed), each distinct
    frame decoded once, in ascending order (no backward seeks).

    Args:
        reader (decord.VideoReader): The open video.
        frame_inds (np.ndarray): Frame indices.

    Returns:
        list[np.ndarray]: (H, W, C) uint8 frames in the order of
        ``frame_inds``.
    """
    flat = np.asarray(frame_inds, dtype=np.int64).ravel()
    uniq, inverse = np.unique(flat, return_inverse=True)
    return list(reader.get_batch(uniq).asnumpy()[inverse])


def decode_frames(reader, frame_inds: np.ndarray, name: str) -> List:
    """:func:`unique_batch`, raising :class:`VideoDecodeError` naming
    ``name`` when the frames cannot be decoded.

    Args:
        reader (decord.VideoReader): The open video.
        frame_inds (np.ndarray): Frame indices.
        name (str): The video's file name.

    Returns:
        list[np.ndarray]: (H, W, C) uint8 frames in the order of
        ``frame_inds``.
    """
    try:
        return unique_batch(reader, frame_inds)
    except Exception as err:  # decord: RuntimeError / DECORDError
        _fail(dict(filename=name), 'decode frames of', err)


@TRANSFORMS.register_module()
class CheckedDecordInit(DecordInit):
    """``DecordInit`` that names the file when it cannot be opened.

    It behaves as ``DecordInit`` on readable files and raises
    :class:`VideoDecodeError` naming the file otherwise; the DDL configs use
    it in their test pipelines.
    """

    def transform(self, results: dict) -> dict:
        """Open the video like ``DecordInit``.

        Args:
            results (dict): Results of the pipeline so far.

        Returns:
            dict: ``results`` with the video reader.

        Raises:
            VideoDecodeError: If the file cannot be opened.
        """
        try:
            return super().transform(results)
        except Exception as err:  # decord: RuntimeError / DECORDError
            _fail(results, 'open', err)


@TRANSFORMS.register_module()
class CheckedDecordDecode(DecordDecode):
    """``DecordDecode`` that names the file when frames cannot be decoded.

    In ``'accurate'`` mode each distinct frame is decoded once, in
    ascending order, and the frames are scattered back to the order of
    ``frame_inds``: the same frames as ``DecordDecode`` (decoding is
    deterministic) without re-decoding the overlap of candidate clips or
    seeking backwards between them.
    """

    def _decord_load_frames(self, container: object,
                            frame_inds: np.ndarray) -> list:
        if self.mode != 'accurate':
            return super()._decord_load_frames(container, frame_inds)
        return unique_batch(container, frame_inds)

    def transform(self, results: dict) -> dict:
        """Decode the sampled frames like ``DecordDecode``.

        Args:
            results (dict): Results of the pipeline so far.

        Returns:
            dict: ``results`` with the decoded ``imgs``.

        Raises:
            VideoDecodeError: If the frames cannot be decoded.
        """
        try:
            return super().transform(results)
        except Exception as err:
            _fail(results, 'decode frames of', err)
