"""Decord transforms that raise :class:`VideoDecodeError` naming the video."""
import os.path as osp

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
    """``DecordDecode`` that names the file when frames cannot be decoded."""

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
